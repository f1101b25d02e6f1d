"""One catalogue of worked examples and known mistakes per graded notebook (see autograder/examples.py)."""
