# %% [markdown]
# # custom_modalities
#
# TODO

# %%
assert 1 + 1 == 2
