"""The text-screening evaluation set (issue 27): generated clips, see generate.py."""
