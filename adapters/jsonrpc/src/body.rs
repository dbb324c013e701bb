//! The one response body type of the HTTP side: a boxed body (whole text, or a file
//! streamed in chunks).

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Bytes, Frame, SizeHint};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A response of the HTTP side.
pub type HttpResponse<T = HttpBody> = http::Response<T>;

/// A response body.
#[derive(Debug, Default)]
pub struct HttpBody(UnsyncBoxBody<Bytes, BoxError>);

impl HttpBody {
    pub fn empty() -> HttpBody {
        HttpBody::default()
    }

    pub fn new<B>(body: B) -> HttpBody
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        HttpBody(body.map_err(Into::into).boxed_unsync())
    }
}

impl From<String> for HttpBody {
    fn from(text: String) -> HttpBody {
        HttpBody::new(Full::from(text))
    }
}

impl From<&'static str> for HttpBody {
    fn from(text: &'static str) -> HttpBody {
        HttpBody::new(Full::from(text))
    }
}

impl Body for HttpBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Pin::new(&mut self.0).poll_frame(cx)
    }

    fn size_hint(&self) -> SizeHint {
        self.0.size_hint()
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }
}
