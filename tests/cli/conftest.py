from polymnist_files import data_dir  # noqa: F401  (the shared fixture)
