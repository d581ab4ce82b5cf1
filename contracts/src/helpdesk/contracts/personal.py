"""Which contract fields are personal data (issue 30, docs/privacy.md).

A field marked `Personal(owner)` travels and is stored sealed under the key of
the person whose id `owner` names: a dotted path from the model that declares
the field, or from the event's root when it starts with `/` (a file name in a
ticket event's `files` belongs to `/requester_id`). The service kit seals on
append and opens on read (libs/servicekit/privacy.py); once the person is
erased, readers get `erased` instead. The JSON Schema of such a field names its
owner (`x-personal`): in an event on a stream or in a store its value is sealed,
`pd1:<key id>:<nonce and ciphertext, base64url>` (docs/privacy.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


@dataclass(frozen=True)
class Personal:
    owner: str
    erased: Any = None

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["x-personal"] = {"owner": self.owner}
        return schema


# A person's own name, username or e-mail address (`user_id` beside it).
OWN = Personal("user_id", erased="")
# The texts of a ticket belong to its requester: erasing them empties the texts.
REQUESTERS = Personal("/requester_id", erased="")
# A file's names on a ticket: its requester's too (a name must stay non-empty).
REQUESTERS_FILE = Personal("/requester_id", erased="erased")
