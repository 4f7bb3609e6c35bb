//! The accept loop. Like `axum::serve`, but each connection carries a [`ConnectionKill`] so the
//! control API's `drop_connection` fault can close a socket without sending a response.

use std::{convert::Infallible, sync::Arc, time::Duration};

use axum::{body::Body, Router};
use hyper::{body::Incoming, server::conn::http1, service::service_fn, Request};
use hyper_util::rt::TokioIo;
use tokio::{
    net::TcpListener,
    sync::{oneshot, watch, Notify},
    task::JoinSet,
};
use tower::ServiceExt as _;

/// Ends the connection a request came on, with nothing more written to it.
#[derive(Clone, Default)]
pub struct ConnectionKill(Arc<Notify>);

impl ConnectionKill {
    pub fn fire(&self) {
        // notify_one keeps a permit if the connection task is not waiting at this instant.
        self.0.notify_one();
    }

    async fn fired(&self) {
        self.0.notified().await;
    }
}

/// Serves `router` on `listener` until `stop` fires; then open connections finish their current
/// request and close.
pub async fn serve(listener: TcpListener, router: Router, mut stop: oneshot::Receiver<()>) {
    let (shutdown, shutting_down) = watch::channel(false);
    let mut connections = JoinSet::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // E.g. out of file descriptors: wait a moment rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        connections.spawn(serve_connection(
            stream,
            router.clone(),
            shutting_down.clone(),
        ));
        while connections.try_join_next().is_some() {}
    }
    let _ = shutdown.send(true);
    while connections.join_next().await.is_some() {}
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    router: Router,
    mut shutting_down: watch::Receiver<bool>,
) {
    let kill = ConnectionKill::default();
    let service = {
        let kill = kill.clone();
        service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(kill.clone());
            let router = router.clone();
            async move {
                let response = router.oneshot(request.map(Body::new)).await;
                Ok::<_, Infallible>(response.unwrap_or_else(|never| match never {}))
            }
        })
    };
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
        }
        // Dropping the connection closes the socket: the client sees EOF and no response.
        _ = kill.fired() => tracing::debug!("connection dropped by a fault"),
        _ = async { let _ = shutting_down.wait_for(|stop| *stop).await; } => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}
