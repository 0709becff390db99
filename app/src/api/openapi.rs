//! The OpenAPI document, generated from the handlers' types.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
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
    ),
    components(schemas(
        crate::domain::ErrorBody, super::account::AccountResponse, super::account::AccountPatch,
        crate::domain::RedirectView, super::redirects::RedirectCreate, super::redirects::RedirectList,
        crate::domain::ChannelView, crate::domain::ChannelType, crate::domain::SubscriptionView,
        super::channels::ChannelList, super::channels::ChannelWithSecret, super::channels::WebhookPatch,
        super::channels::SetupUrlRequest, crate::services::connect::SetupUrl, super::channels::ExchangeCode,
        crate::services::manual::ManualInput, super::channels::ManualResponse, super::channels::RegisterRequest,
        crate::services::health::Health, crate::services::health::Check, crate::services::health::Capabilities,
    )),
    modifiers(&Security),
    tags(
        (name = "account", description = "The account behind an API key"),
        (name = "redirects", description = "Where the hosted connect flow may send browsers back to"),
        (name = "channels", description = "Connected WhatsApp numbers, Instagram accounts and Facebook Pages"),
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

pub async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}
