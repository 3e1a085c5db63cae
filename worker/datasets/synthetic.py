"""Generated datasets, reproducible from the seed: regression (with training-only outliers), classification
(optionally imbalanced), multi-label, counts, images and bags of tokens."""

import numpy as np

from core.components import (
    DatasetSpec,
    SyntheticClassification,
    SyntheticCounts,
    SyntheticImages,
    SyntheticMultilabel,
    SyntheticRegression,
    SyntheticTokens,
)

Arrays = tuple[np.ndarray, np.ndarray]


def _regression(spec: SyntheticRegression, rng: np.random.Generator) -> Arrays:
    x = rng.normal(size=(spec.n_samples, spec.n_features))
    w = rng.normal(size=spec.n_features)
    return x, x @ w + spec.noise * rng.normal(size=spec.n_samples)


def _classification(spec: SyntheticClassification, rng: np.random.Generator) -> Arrays:
    centres = rng.normal(scale=spec.class_sep, size=(spec.n_classes, spec.n_features))
    if spec.class_weights is None:
        labels = rng.integers(spec.n_classes, size=spec.n_samples)
    else:
        share = np.array(spec.class_weights) / sum(spec.class_weights)
        labels = rng.choice(spec.n_classes, size=spec.n_samples, p=share)
    return centres[labels] + rng.normal(size=(spec.n_samples, spec.n_features)), labels


def _multilabel(spec: SyntheticMultilabel, rng: np.random.Generator) -> Arrays:
    # Each label is on where its own random projection of the features is high; at least one label per sample.
    x = rng.normal(size=(spec.n_samples, spec.n_features))
    scores = x @ rng.normal(size=(spec.n_features, spec.n_labels))
    on = scores > np.quantile(scores, 0.6, axis=0)
    on[np.arange(spec.n_samples), scores.argmax(axis=1)] = True
    return x, on.astype(np.float32)


def _counts(spec: SyntheticCounts, rng: np.random.Generator) -> Arrays:
    x = rng.normal(size=(spec.n_samples, spec.n_features))
    w = rng.normal(scale=1.0 / np.sqrt(spec.n_features), size=spec.n_features)
    return x, rng.poisson(np.exp(1.0 + x @ w)).astype(np.float64)


def _images(spec: SyntheticImages, rng: np.random.Generator) -> Arrays:
    # Each class is a coarse colour pattern blown up 4x, so a CNN has local structure to find.
    coarse_size = spec.image_size // 4
    coarse = rng.normal(size=(spec.n_classes, spec.channels, coarse_size, coarse_size))
    patterns = np.kron(coarse, np.ones((1, 1, 4, 4)))
    labels = rng.integers(spec.n_classes, size=spec.n_samples)
    noise = spec.noise * rng.normal(size=(spec.n_samples, spec.channels, spec.image_size, spec.image_size))
    return patterns[labels] + noise, labels


def _tokens(spec: SyntheticTokens, rng: np.random.Generator) -> Arrays:
    # A quarter of each sample's tokens come from its class's topic words, the rest from the whole vocabulary.
    topic_size = max(2, spec.vocab_size // (4 * spec.n_classes))
    topics = rng.permutation(spec.vocab_size)[: spec.n_classes * topic_size].reshape(spec.n_classes, topic_size)
    labels = rng.integers(spec.n_classes, size=spec.n_samples)
    tokens = rng.integers(spec.vocab_size, size=(spec.n_samples, spec.seq_len))
    from_topic = rng.random(size=tokens.shape) < 0.25
    topic_tokens = topics[labels[:, None], rng.integers(topic_size, size=tokens.shape)]
    return np.where(from_topic, topic_tokens, tokens), labels


def synthetic_arrays(spec: DatasetSpec, rng: np.random.Generator) -> Arrays:
    """Inputs and targets of a generated dataset."""
    match spec:
        case SyntheticRegression():
            return _regression(spec, rng)
        case SyntheticClassification():
            return _classification(spec, rng)
        case SyntheticMultilabel():
            return _multilabel(spec, rng)
        case SyntheticCounts():
            return _counts(spec, rng)
        case SyntheticImages():
            return _images(spec, rng)
        case SyntheticTokens():
            return _tokens(spec, rng)
    raise AssertionError(f"dataset {spec.name} is not generated")


def add_outliers(y_train: np.ndarray, *, fraction: float, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Training targets with `fraction` of them shifted by +/- `scale` standard deviations (validation stays clean)."""
    n_out = round(len(y_train) * fraction)
    if n_out == 0:
        return y_train
    corrupted = y_train.copy()
    chosen = rng.choice(len(y_train), size=n_out, replace=False)
    corrupted[chosen] += rng.choice([-1.0, 1.0], size=n_out) * scale * float(y_train.std() or 1.0)
    return corrupted
