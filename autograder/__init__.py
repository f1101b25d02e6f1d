"""Instructor tooling for rnnlab: releasing and grading the notebooks with nbgrader."""
