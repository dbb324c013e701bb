//! Use cases of the camera service.
