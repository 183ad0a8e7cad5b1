"""`alignctl lsp`: the policy compiler as a language server (docs/lsp.md).

`index` finds every id with its definition and uses, `analysis` runs the validate pipeline on
editor buffers, `hover`, `complete` and `edits` answer the requests, and `server` is the pygls
glue, the only module that imports pygls (the `lsp` extra).
"""
