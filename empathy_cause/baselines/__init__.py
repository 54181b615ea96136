"""The paper's other approaches (section 5.2), as scikit-learn estimators."""

from .prompting import PromptingClassifier

__all__ = ["PromptingClassifier"]
