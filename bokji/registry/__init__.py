"""The registry: persons and households, organised around individuals, with history.

Nothing is overwritten: a membership, a move or a correction is a new row with the time it was
recorded and who recorded it; a correction points at the row it corrects, which then no longer
counts. Registration numbers are kept encrypted, found by a keyed hash and shown masked
(bokji.privacy.protection); every read of a person names its purpose in the access log.
"""
