"""LexRank (Erkan & Radev, 2004) over TF-IDF sentence vectors, with numpy: no language data needed."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray


def tfidf_matrix(token_lists: Sequence[Sequence[str]]) -> NDArray[np.float64]:
    """Rows: sentences; columns: vocabulary; each row scaled to unit length (zero rows stay zero)."""
    vocab: dict[str, int] = {}
    for tokens in token_lists:
        for token in tokens:
            vocab.setdefault(token, len(vocab))
    matrix = np.zeros((len(token_lists), max(1, len(vocab))))
    document_frequency = Counter(t for tokens in token_lists for t in set(tokens))
    n = len(token_lists)
    for row, tokens in enumerate(token_lists):
        for token, count in Counter(tokens).items():
            matrix[row, vocab[token]] = count * (math.log((1 + n) / (1 + document_frequency[token])) + 1)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    scaled: NDArray[np.float64] = matrix / norms
    return scaled


def lexrank(
    token_lists: Sequence[Sequence[str]], *, threshold: float = 0.1, damping: float = 0.85, iterations: int = 200
) -> NDArray[np.float64]:
    """Centrality of each sentence (sums to 1): PageRank over the thresholded cosine-similarity graph."""
    n = len(token_lists)
    if n == 0:
        return np.zeros(0)
    if n == 1:
        return np.ones(1)
    vectors = tfidf_matrix(token_lists)
    similarity = vectors @ vectors.T
    adjacency = (similarity >= threshold).astype(np.float64)
    np.fill_diagonal(adjacency, 0.0)  # a sentence does not vote for itself
    degree = adjacency.sum(axis=1, keepdims=True)
    transition = np.where(degree > 0, adjacency / np.where(degree > 0, degree, 1.0), 1.0 / n)  # dangling: uniform
    scores = np.full(n, 1.0 / n)
    for _ in range(iterations):
        updated = (1 - damping) / n + damping * (transition.T @ scores)
        if np.abs(updated - scores).sum() < 1e-10:
            scores = updated
            break
        scores = updated
    total = scores.sum()
    return scores / total if total else scores


def cosine(vectors: NDArray[np.float64], i: int, j: int) -> float:
    return float(vectors[i] @ vectors[j])
