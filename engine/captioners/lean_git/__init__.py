"""GIT captioning in plain torch, without transformers (the default captioner, microsoft/git-base-coco, and
the other GIT checkpoints of the same architecture). Importing transformers costs ~3.4 s at start-up (it
pulls in torch._dynamo) and ~0.2 GB of memory; this path needs torch, safetensors and tokenizers only.

- config.py: the folder read with json; anything the lean path would not compute exactly -> transformers.
- model.py: the modules (transformers' parameter names) and the attention mask.
- preprocess.py: CLIPImageProcessor's steps in torch.
- captioner.py: LeanGitCaptioner (greedy decoding with a KV cache, tokenizers for the words).
- loading.py: load_lean_git (None when the transformers path must load the folder).

Nothing heavy is imported by this package's __init__.
"""
