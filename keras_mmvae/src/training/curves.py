"""Learning curves of a run: periodic evaluation written to `curves.*`."""

import numpy as np


def curve_callbacks(bench, data_dir, out_dir, every_n_epochs,
                    classifiers_dir=None, num_eval=1000, seed=0):
    """`EvaluationCallback` + `LearningCurves` writing `<out>/curves.*`.

    Evaluates `num_eval` test examples: the latent probe of each single
    modality and of all of them, and with classifiers the coherence from
    each single modality and from all but one.
    """
    from keras_mmvae import models

    # Streamed splits: the probe draws its training examples, the test
    # examples are read by index; neither split is loaded whole.
    train = bench.dataset.load(data_dir, split="train", batch_size=256,
                               shuffle=False, drop_last=False)
    test = bench.dataset.load(data_dir, split=bench.test_split,
                              shuffle=False, drop_last=False)
    return evaluation_callbacks(
        bench.modalities, train, test, out_dir, every_n_epochs,
        models.load_classifiers(classifiers_dir) if classifiers_dir
        else None, num_eval=num_eval, seed=seed)


def evaluation_callbacks(names, train, test, out_dir, every_n_epochs,
                         classifiers=None, num_eval=1000, seed=0):
    """The learning-curve callbacks, evaluating `num_eval` drawn test rows.

    `test` is `(inputs, labels)` arrays or a `MultimodalDataset`, which
    reads only the drawn rows.
    """
    from keras_mmvae import evaluation

    if hasattr(test, "get"):
        rows = np.random.default_rng(seed).permutation(test.num_examples)
        test = test.get(np.sort(rows[:num_eval]))
    else:
        rows = np.random.default_rng(seed).permutation(len(test[1]))
        rows = rows[:num_eval]
        test = ({k: v[rows] for k, v in test[0].items()}, test[1][rows])
    names = list(names)
    singles = [(n,) for n in names]
    metrics = ["linear_probe"]
    kwargs = {"linear_probe": {"subsets": singles + [tuple(names)],
                               "num_train": 1000, "seed": seed}}
    if classifiers:
        metrics.append("coherence")
        leave_one_out = [tuple(n for n in names if n != m) for m in names]
        kwargs["coherence"] = {
            "subsets": singles + (leave_one_out if len(names) > 2 else []),
            "seed": seed}
    return [evaluation.EvaluationCallback(
                metrics, test_data=test, train_data=train,
                classifiers=classifiers, every_n_epochs=every_n_epochs,
                metric_kwargs=kwargs),
            evaluation.LearningCurves(out_dir)]
