# %% [markdown]
# # fusion_modes
#
# TODO

# %%
assert 1 + 1 == 2
