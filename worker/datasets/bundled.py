"""Datasets that ship inside scikit-learn (no download): digits, iris, wine, breast cancer, diabetes; and the
thermometer readings of the classic Celsius example."""

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine

# The classic Celsius example: readings of an unknown thermometer (t_u) against degrees Celsius (t_c).
THERMOMETER_T_C = [0.5, 14.0, 15.0, 28.0, 11.0, 8.0, 3.0, -4.0, 6.0, 13.0, 21.0]
THERMOMETER_T_U = [35.7, 55.9, 58.2, 81.9, 56.3, 48.9, 33.9, 21.8, 48.4, 60.4, 68.4]

_LOADERS = {
    "digits": load_digits,
    "iris": load_iris,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "diabetes": load_diabetes,
}


def bundled_arrays(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets of a bundled dataset; digits come as 1x8x8 images."""
    if name == "thermometer":
        return np.array(THERMOMETER_T_U).reshape(-1, 1), np.array(THERMOMETER_T_C)
    bunch = _LOADERS[name]()
    x = bunch.data.reshape(-1, 1, 8, 8) if name == "digits" else bunch.data
    return x, bunch.target


def bundled_names(name: str) -> tuple[list[str], list[str]]:
    """A bundled dataset's class names (empty for regression) and feature names (scikit-learn's)."""
    if name == "thermometer":
        return [], ["t_u"]
    bunch = _LOADERS[name]()
    classes = [str(label) for label in getattr(bunch, "target_names", [])]
    return classes, [str(feature) for feature in bunch.feature_names]
