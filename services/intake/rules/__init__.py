"""Intake's rules as plain functions over plain data: what a submission, an attachment and
a step of the conversation may be, and what of a request each reader is shown."""
