"""Text screening's building blocks: normalising text, keyword and domain lists, matching."""
