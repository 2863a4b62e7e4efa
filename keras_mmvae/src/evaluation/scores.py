"""Score accumulators: digit accuracy and attribute mean average precision."""

import numpy as np

AVERAGES = ("batch", "dataset")


def check_average(average):
    if average not in AVERAGES:
        raise ValueError(
            f"`attribute_average` must be one of {AVERAGES}; got {average!r}."
        )
    return average


def mean_average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mean over attributes of `sklearn.metrics.average_precision_score`.

    An attribute without any positive example scores 0 (MoPoE's convention
    when scikit-learn cannot compute AP).

    Args:
        labels: `(N, K)` 0/1 labels.
        scores: `(N, K)` scores (probabilities, logits or hard 0/1
            predictions).
    """
    from sklearn.metrics import average_precision_score

    labels = np.asarray(labels) > 0
    scores = np.asarray(scores, dtype="float64")
    values = []
    for k in range(labels.shape[1]):
        if not labels[:, k].any():
            values.append(0.0)
        else:
            values.append(float(average_precision_score(labels[:, k],
                                                        scores[:, k])))
    return float(np.mean(values))


class Score:
    """Accumulates a score over batches.

    Class ids: accuracy over all examples. Attributes: mean AP per batch
    averaged over batches (`"batch"`, MoPoE) or over the whole data
    (`"dataset"`).
    """

    def __init__(self, multilabel, average="batch"):
        self.multilabel = multilabel
        self.average = check_average(average)
        self.correct = 0.0
        self.count = 0
        self.batch_scores = []
        self.labels = []
        self.scores = []

    def update(self, labels, scores):
        """`labels` `(B,)`/`(B, K)`; `scores` `(B, C)` class scores or
        `(B,)` predicted classes, `(B, K)` attribute scores."""
        labels = np.asarray(labels)
        scores = np.asarray(scores)
        if len(labels) == 0:
            return
        if not self.multilabel:
            predictions = (scores if scores.ndim == 1
                           else np.argmax(scores, axis=-1))
            self.correct += float(np.sum(predictions == labels))
            self.count += len(labels)
        elif self.average == "batch":
            self.batch_scores.append(mean_average_precision(labels, scores))
        else:
            self.labels.append(labels)
            self.scores.append(scores)

    def result(self):
        if not self.multilabel:
            return self.correct / self.count if self.count else float("nan")
        if self.average == "batch":
            if not self.batch_scores:
                return float("nan")
            return float(np.mean(self.batch_scores))
        if not self.labels:
            return float("nan")
        return mean_average_precision(np.concatenate(self.labels),
                                      np.concatenate(self.scores))
