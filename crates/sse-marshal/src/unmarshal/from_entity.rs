//! The `FromEntity` typeclass and the `Unmarshal` entry point.

use std::future::Future;

/// A type that can be read from an entity such as an HTTP response: the Rust
/// shape of Akka's `FromEntityUnmarshaller`.
///
/// Use it through [`Unmarshal`]:
/// `Unmarshal::new(response).to::<EventSource>().await`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be unmarshalled from `{E}`",
    note = "`EventSource` is unmarshalled from an `http::Response<B>` whose body `B` is an `http_body::Body<Data = Bytes>`"
)]
pub trait FromEntity<E>: Sized {
    /// Why unmarshalling failed.
    type Error;

    /// Reads `Self` from the entity.
    fn from_entity(entity: E) -> impl Future<Output = Result<Self, Self::Error>> + Send;
}

/// Unmarshals a value from an entity, as Akka's `Unmarshal(entity).to[T]`.
///
/// ```
/// use bytes::Bytes;
/// use futures_util::StreamExt;
/// use http_body_util::Full;
/// use sse_marshal::{EventSource, Unmarshal};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let response = http::Response::builder()
///     .header("content-type", "text/event-stream")
///     .body(Full::new(Bytes::from_static(b"data: hello\n\n")))
///     .unwrap();
///
/// let mut events = Unmarshal::new(response).to::<EventSource>().await?;
/// let event = events.next().await.expect("one event")?;
/// assert_eq!(event.data(), "hello");
/// assert!(events.next().await.is_none());
/// # Ok::<(), sse_marshal::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
#[must_use = "call `.to::<T>()` to unmarshal"]
pub struct Unmarshal<E> {
    entity: E,
}

impl<E> Unmarshal<E> {
    /// Wraps the entity to unmarshal.
    pub fn new(entity: E) -> Self {
        Unmarshal { entity }
    }

    /// Unmarshals the entity to `T`.
    pub async fn to<T: FromEntity<E>>(self) -> Result<T, T::Error> {
        T::from_entity(self.entity).await
    }
}
