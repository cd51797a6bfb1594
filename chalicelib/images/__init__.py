"""Images: upload, direct browser upload, delivery and lifecycle behind one ``ImageStore``."""
