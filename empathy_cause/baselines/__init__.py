"""The paper's other approaches (section 5.2), as scikit-learn estimators."""

from .prompting import PromptingClassifier
from .qa import QAClassifier

__all__ = ["PromptingClassifier", "QAClassifier"]
