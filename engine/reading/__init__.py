"""Saying the right thing about what is in an image, after OCR (issue 13).

- `order`: the read pieces in the order a sighted reader reads them (XY-cut: blocks, columns, tables), each
  line with its block, reading index and language;
- `script`: a line's script and language from the Unicode ranges of its letters, and mixed text cut into
  runs of one language;
- `kind`: photo / screen / document from the text regions and what lies outside them;
- `phantom`: the lines worth saying (on a photo only what a sighted person would read there).

Pure functions on boxes, strings and the blank check's thumbnail: no model, safe from any thread.
"""
