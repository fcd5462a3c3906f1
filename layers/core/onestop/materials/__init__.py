"""Uploaded materials: from a file's bytes to a catalogued electronic material or a clear rejection.

sniff (real type) -> images / pdftext (safe decoding, text layer, page rasters) -> ocr (PP-OCR engines)
-> classify (material type + cues) -> fields (values + validation problems) -> normalise (searchable PDF
+ manifest). `pipeline.process_upload` runs them on bytes (pure); `service.ingest_object` adds storage,
records and events through ports. Submodules are imported on use: OCR pulls in onnxruntime and OpenCV.
"""
