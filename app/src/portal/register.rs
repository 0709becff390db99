//! *Register number* on a WhatsApp channel's settings page (SPEC §3.4): a
//! number connected through Embedded Signup must be registered with Meta
//! (with its two-step verification PIN) before it can send. Same service as
//! `POST /api/v1/channels/{id}/register`.

#[cfg(feature = "ssr")]
use crate::web::session::Rpc;
use leptos::prelude::*;

use super::ui::*;

#[server(prefix = "/rpc", endpoint = "register_number")]
pub async fn register_number(id: String, pin: String) -> Result<(), ServerFnError> {
    let me = crate::web::session::require().await?;
    crate::services::manual::register(&crate::web::session::state()?, &me.account_id, &id, &pin)
        .await
        .rpc()
        .map(|_| ())
}

#[component]
pub fn RegisterCard(#[prop(into)] channel_id: String) -> impl IntoView {
    let action = ServerAction::<RegisterNumber>::new();
    view! {
        <Card title="Register number">
            <p class="mb-3 text-sm text-slate-600">
                "Meta lets a number send only after it is registered. Switchboard registers a number it connects, unless the number already has a two-step verification PIN of its own or was connected with your own Meta app: then enter that 6-digit PIN here. The Health panel's "
                <span class="font-medium">"phone registered"</span>" check shows the result."
            </p>
            <ActionForm action=action attr:id="register-form" attr:class="flex flex-wrap items-end gap-3">
                <input type="hidden" name="id" value=channel_id/>
                <div class="w-40">
                    <Field label="PIN" name="pin" id="register-pin" placeholder="6 digits" autocomplete="off" required=true/>
                </div>
                <Button id="register-submit" variant=Variant::Secondary pending=action.pending()>"Register"</Button>
            </ActionForm>
            <div id="register-result" class="mt-3">
                {move || action.value().get().map(|r| match r {
                    Ok(()) => view! { <Alert tone=Tone::Success>"Registered: the number can send now."</Alert> }.into_any(),
                    Err(e) => view! { <Alert tone=Tone::Danger><span class="error-text">{error_text(&e)}</span></Alert> }.into_any(),
                })}
            </div>
        </Card>
    }
}
