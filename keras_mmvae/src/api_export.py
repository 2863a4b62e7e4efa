"""One decorator that registers a public object and records its public paths."""

import keras

PUBLIC_PATHS = {}


def keras_mmvae_export(path):
    """Records `obj` under each public path; registers classes for saving.

    `path` is one dotted public path or a list of them (an object reachable
    from several facades, e.g. `keras_mmvae.BarycenterFusion` and
    `keras_mmvae.layers.BarycenterFusion`). Constants are recorded by calling
    the decorator on them: `keras_mmvae_export("keras_mmvae.x.NAME")(NAME)`.

    Serialisable classes (those with `get_config`) are registered as
    `keras_mmvae>ClassName`, so `.keras` files rebuild them without
    `custom_objects`.
    """
    paths = [path] if isinstance(path, str) else list(path)

    def decorator(obj):
        for public_path in paths:
            PUBLIC_PATHS[public_path] = obj
        if isinstance(obj, type) and hasattr(obj, "get_config"):
            keras.saving.register_keras_serializable(
                package="keras_mmvae", name=obj.__name__
            )(obj)
        return obj

    return decorator
