"""The HTML view and the attention plot."""

import numpy as np
import pandas as pd

from empathy_cause import load_demo
from empathy_cause.prediction.visualize import plot_attention, render_html


def test_plot_attention_draws_on_a_given_axes_with_a_title(tmp_path):
    from matplotlib.figure import Figure

    attention = pd.DataFrame([[0.2, 0.8], [0.5, 0.5]], index=["post a", "post b"], columns=["r1", "r2"])
    ax = Figure().subplots()
    assert plot_attention(attention, ax=ax, title="pair p7") is ax
    assert "pair p7" in ax.get_title() and "each row sums to 1" in ax.get_title()
    own = plot_attention(attention, tmp_path / "a.png")
    assert own is not ax and (tmp_path / "a.png").stat().st_size > 0


def test_plot_attention_title_is_not_clipped(tmp_path):
    """A two-column heatmap is narrow: its title must still fit inside the saved figure."""
    attention = pd.DataFrame([[0.2, 0.8]] * 3, index=["I am 16 and my acne is so bad that I skip school."] * 3,
                             columns=["r1", "r2"])
    ax = plot_attention(attention, tmp_path / "a.png", title="a school post")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = ax.figure
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    assert "a school post" in fig.get_suptitle() and "each row sums to 1" in fig.get_suptitle()
    title = fig._suptitle.get_window_extent(canvas.get_renderer())
    assert fig.bbox.x0 <= title.x0 and title.x1 <= fig.bbox.x1


def test_html_view_states_threshold_and_metrics(tmp_path):
    X, y, _ = load_demo()
    proba = np.linspace(0, 1, len(X))
    text = render_html(X, proba, tmp_path / "v.html", y=y, threshold=0.35).read_text()
    assert "Decision threshold: <b>0.35</b>" in text and "<th>f1</th>" in text
    assert "<th>f1</th>" not in render_html(X, proba, tmp_path / "w.html", threshold=0.35).read_text()
