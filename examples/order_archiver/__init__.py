"""Seed 003, the order archiver: batch and watch modes over PostgreSQL, monitored as its plan says.

``python -m examples.order_archiver --help`` lists the commands; README.md maps every item of the
plan to where it is implemented.
"""
