"""Files and images in the conversation: uploads (``services``), who may fetch them and their
signed links (``selectors``), content sniffing (``sniffing``) and the REST endpoints (``views``).

An attachment is uploaded first (``POST v2/attachments``), complete before it has a row, and is
named by a later send from a ``basic`` image or file item (``{"image": {"id": …}}``, no
``url``); the send fills in the rest and binds it in the same transaction, so no message ever
names an attachment that is not fully stored.
"""
