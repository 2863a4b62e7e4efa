"""One decorator that registers a public object and records its public path."""

import keras

PUBLIC_PATHS = {}


def keras_mmvae_export(path):
    """Records `obj` under its public `path`; registers classes for saving.

    Serialisable classes (those with `get_config`) are registered as
    `keras_mmvae>ClassName`, so `.keras` files rebuild them without
    `custom_objects`.
    """

    def decorator(obj):
        PUBLIC_PATHS[path] = obj
        if isinstance(obj, type) and hasattr(obj, "get_config"):
            keras.saving.register_keras_serializable(
                package="keras_mmvae", name=obj.__name__
            )(obj)
        return obj

    return decorator
