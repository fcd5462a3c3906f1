"""`make eval`: accuracy of the materials pipeline on a labelled set, written to docs/accuracy.md.

The set: the labelled images of ../shared/corpus/01_ocr_images (labels.jsonl) and the synthetic
documents of tests/document_specimens.py under photo-like damage. Every file goes through
`onestop.materials.pipeline.process_upload` as the ingest function calls it (the slot's type as the
expected type, the application's applicant). See evaluation/__main__.py for the command.
"""
