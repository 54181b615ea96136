"""Using a fitted model: the prediction job, streaming in constant memory, scoring on Dask, attention plots."""

from .distributed import (
    get_client,
    joblib_backend,
    predict_proba_dask,
    predict_table_dask,
    read_dask_frame,
    to_dask_frame,
)
from .job import PREDICTION_COLUMNS, load_model_folder, prediction_table, score_chunk
from .streaming import iter_frame_chunks, iter_predict_proba
from .visualize import plot_attention, render_html

__all__ = [
    "iter_frame_chunks",
    "iter_predict_proba",
    "prediction_table",
    "score_chunk",
    "load_model_folder",
    "PREDICTION_COLUMNS",
    "predict_proba_dask",
    "predict_table_dask",
    "to_dask_frame",
    "read_dask_frame",
    "joblib_backend",
    "get_client",
    "render_html",
    "plot_attention",
]
