# %% [markdown]
# # celeba
#
# TODO

# %%
assert 1 + 1 == 2
