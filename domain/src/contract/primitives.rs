//! JSON Schemas of the types whose serde is written by hand (their text forms and ranges):
//! the schema says exactly what their `Serialize`/`Deserialize` accept and produce.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

use crate::api::{ApiKeyLabel, KeyLifetime, PageLimit, Positive, Quality, RecordingDuration};
use crate::auth::Role;
use crate::camera::{CameraId, Resolution};
use crate::capabilities::FourCc;
use crate::files::SafeFileName;
use crate::media::SnapshotTier;
use crate::retention::RetentionPolicy;
use crate::time::Timestamp;

macro_rules! schema {
    ($ty:ty, $name:literal, $schema:tt) => {
        impl JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                $name.into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
    };
}

schema!(CameraId, "CameraId", {
    "description": "A camera: `camera<N>`, N the index of its node (0..999).",
    "type": "string",
    "pattern": "^camera[0-9]{1,3}$"
});

schema!(SafeFileName, "FileName", {
    "description": "A flat file name: no `/`, no `..`.",
    "type": "string",
    "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
});

schema!(Timestamp, "Timestamp", {
    "description": "RFC 3339 in UTC with `Z`.",
    "type": "string",
    "format": "date-time"
});

schema!(Role, "Role", {
    "type": "string",
    "enum": ["viewer", "operator", "admin"]
});

schema!(Resolution, "Resolution", {
    "description": "`<width>x<height>`",
    "type": "string",
    "pattern": "^[0-9]+x[0-9]+$"
});

schema!(FourCc, "FourCc", {
    "description": "The pixel format's FourCC as text, without trailing blanks.",
    "type": "string",
    "maxLength": 4
});

schema!(SnapshotTier, "SnapshotTier", {
    "description": "1: from the running stream; 2: the stream started for it; 3: from the device.",
    "type": "integer",
    "enum": [1, 2, 3]
});

schema!(Quality, "Quality", {
    "description": "JPEG quality.",
    "type": "integer",
    "minimum": 1,
    "maximum": 100
});

schema!(RecordingDuration, "RecordingDuration", {
    "description": "Seconds.",
    "type": "number",
    "minimum": 1,
    "maximum": 86400
});

schema!(PageLimit, "PageLimit", {
    "type": "integer",
    "minimum": 1,
    "maximum": 1000
});

schema!(Positive, "Positive", {
    "type": "number",
    "exclusiveMinimum": 0
});

schema!(RetentionPolicy, "RetentionPolicy", {
    "description": "`null` limits are no limit.",
    "type": "object",
    "properties": {
        "enabled": {"type": "boolean"},
        "max_age_days": {"type": ["number", "null"], "exclusiveMinimum": 0},
        "max_size_gb": {"type": ["number", "null"], "exclusiveMinimum": 0}
    },
    "required": ["enabled", "max_age_days", "max_size_gb"]
});

schema!(ApiKeyLabel, "ApiKeyLabel", {
    "description": "An API key's label: 1..64 characters, no control characters.",
    "type": "string",
    "minLength": 1,
    "maxLength": 64
});

schema!(KeyLifetime, "KeyLifetime", {
    "description": "Seconds until an API key expires: 60 s to 10 years.",
    "type": "integer",
    "minimum": 60,
    "maximum": 316224000
});
