//! The OpenAPI document, generated from the handlers' types.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard API", description = "One REST API for WhatsApp, Instagram and Messenger channels. Every error body is `{detail, code}`."),
    paths(
        super::account::get_account, super::account::patch_account,
        super::redirects::create, super::redirects::list, super::redirects::delete,
        super::channels::list, super::channels::get, super::channels::patch, super::channels::delete,
        super::channels::setup_url, super::channels::exchange_code, super::channels::manual,
        super::channels::register, super::channels::health,
        super::templates::list, super::templates::get, super::templates::create, super::templates::edit,
        super::templates::delete, super::templates::send_template, super::templates::profile,
        super::messages::send, super::messages::read, super::media::upload,
        super::deliveries::list, super::deliveries::get, super::deliveries::retry,
        super::deliveries::replay, super::deliveries::test_event,
        super::event_endpoints::create, super::event_endpoints::list, super::event_endpoints::get,
        super::event_endpoints::delete,
        super::onboarding_links::create, super::onboarding_links::list,
        super::onboarding_links::get, super::onboarding_links::delete,
    ),
    components(schemas(
        crate::services::messages::read::ReadRequest, crate::services::messages::read::ReadResult,
        crate::domain::ErrorBody, super::account::AccountResponse, super::account::AccountPatch,
        crate::domain::RedirectView, super::redirects::RedirectCreate, super::redirects::RedirectList,
        crate::domain::ChannelView, crate::domain::ChannelType, crate::domain::SubscriptionView,
        super::channels::ChannelList, super::channels::ChannelWithSecret, super::channels::WebhookPatch,
        super::channels::SetupUrlRequest, crate::services::connect::SetupUrl, super::channels::ExchangeCode,
        crate::services::manual::ManualInput, super::channels::ManualResponse, super::channels::RegisterRequest,
        crate::services::health::Health, crate::services::health::Check, crate::services::health::Capabilities,
        crate::services::messages::SendRequest, crate::services::messages::ReactionRequest, crate::services::messages::FlowRequest,
        crate::services::messages::SendResult,
        crate::domain::media::UploadedMedia, super::media::UploadForm,
        crate::domain::templates::TemplateView, super::templates::TemplateList,
        crate::services::templates::NewTemplateRequest, crate::services::templates::EditTemplateRequest,
        crate::services::templates::SendTemplateRequest, crate::services::templates::TemplateVariables,
        crate::services::templates::ButtonVariable, crate::services::profiles::ProfileAnswer,
        crate::domain::deliveries::DeliveryView, crate::domain::deliveries::AttemptView,
        crate::domain::deliveries::DeliveryList, crate::domain::deliveries::Replayed,
        crate::domain::deliveries::TestEventView, super::deliveries::ReplayRequest,
        super::event_endpoints::EventEndpointCreate, super::event_endpoints::EventEndpointList,
        crate::services::event_endpoints::EventEndpointView, crate::services::event_endpoints::CreatedEndpoint,
        crate::services::onboarding::NewLink, crate::domain::onboarding::OnboardingLinkView,
        crate::domain::onboarding::OnboardingLinkList,
    )),
    modifiers(&Security, &CommonErrors),
    tags(
        (name = "account", description = "The account behind an API key"),
        (name = "redirects", description = "Where the hosted connect flow may send browsers back to"),
        (name = "channels", description = "Connected WhatsApp numbers, Instagram accounts and Facebook Pages"),
        (name = "event-endpoints", description = "Where account events (channel.connected, delivery.exhausted, …) are delivered"),
        (name = "messages", description = "Sending text, reactions and interactive messages; queued sends and idempotency"),
        (name = "templates", description = "WhatsApp message templates: the local copy synced from Meta, create, edit, delete"),
        (name = "deliveries", description = "The webhook delivery log: attempts, retry, replay and test events"),
        (name = "onboarding-links", description = "Hosted sign-up links that let your own customers connect their WhatsApp, Instagram or Facebook"),
    ),
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The answers every operation can give besides its own, added to each one
/// that does not list them already, so the document matches what the server
/// does (the extractors in `extract.rs`, the key check in `auth.rs`).
struct CommonErrors;

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                Content::new(Some(Ref::from_schema_name("ErrorBody"))),
            )
            .build(),
    )
}

fn add_common_errors(op: &mut Operation) {
    let authed = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let json_body = op
        .request_body
        .as_ref()
        .is_some_and(|b| b.content.contains_key("application/json"));
    let mut common = Vec::new();
    if has_params || json_body {
        common.push((
            "400",
            "validation_error: a path parameter, query string or header that does not decode or fit; \
             invalid_json: a body that is not JSON",
        ));
    }
    if authed {
        common.push((
            "401",
            "missing_api_key, invalid_api_key: no key, or one that is unknown or revoked",
        ));
    }
    if json_body {
        common.push(("413", "payload_too_large: a body over 1 MB"));
        common.push((
            "415",
            "unsupported_media_type: a body without Content-Type: application/json",
        ));
        common.push((
            "422",
            "validation_error: JSON of the wrong shape (a missing field, a wrong type, an unknown field)",
        ));
    }
    if authed {
        common.push((
            "429",
            "rate_limited: the key's requests per minute are used up; see Retry-After",
        ));
    }
    common.push(("503", "not_ready: the database is not reachable right now"));
    for (status, description) in common {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| error_response(description));
    }
}

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                add_common_errors(op);
            }
        }
    }
}

pub async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}
