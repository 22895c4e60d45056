//! Non-JSON representations shared by the native API and the ActivityPub endpoints.

use axum::{
    http::header,
    response::{IntoResponse, Response},
};

/// An iCalendar document as an HTTP response.
pub fn ics_response(body: String) -> Response {
    (
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
        body,
    )
        .into_response()
}
