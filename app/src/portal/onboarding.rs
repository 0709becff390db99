//! Onboarding links (SPEC §6): create a hosted sign-up link for one of your
//! own customers, hand them its URL or QR code, follow its status. Also the
//! account's logo, shown on those hosted pages.

// The create form's server function takes one argument per form field; the
// macro generates the browser-side function too, which an item-level allow
// does not reach.
#![allow(clippy::too_many_arguments)]

#[cfg(feature = "ssr")]
use crate::web::session::Rpc;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::ui::*;
use crate::domain::ChannelType;
use crate::domain::onboarding::{BrandingView, OnboardingLinkList, OnboardingLinkView};

/// Links per page in the Portal.
pub const PAGE_SIZE: i64 = 20;

#[server(prefix = "/rpc", endpoint = "list_onboarding_links")]
pub async fn list_onboarding_links(page: i64) -> Result<OnboardingLinkList, ServerFnError> {
    let me = crate::web::session::require().await?;
    crate::services::onboarding::list(
        &crate::web::session::state()?,
        &me.account_id,
        page.max(1),
        PAGE_SIZE,
    )
    .await
    .rpc()
}

/// Creates a link with the Portal's custom-secret rule (16–64); without a
/// secret but with a URL, one is generated. The answer shows it once.
#[server(prefix = "/rpc", endpoint = "create_onboarding_link")]
pub async fn create_onboarding_link(
    name: String,
    external_id: String,
    channel_type: String,
    redirect_url: String,
    webhook_url: String,
    events: Option<Vec<String>>,
    webhook_secret: String,
    expires_in_days: Option<String>,
) -> Result<OnboardingLinkView, ServerFnError> {
    use crate::error::AppError;
    let me = crate::web::session::require().await?;
    let url = Some(webhook_url.trim().to_string()).filter(|u| !u.is_empty());
    let days = match expires_in_days.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => Some(
            d.parse::<i64>()
                .map_err(|_| AppError::validation("expires_in_days must be a whole number"))
                .rpc()?,
        ),
    };
    // In the form, unchecked boxes mean "no events": explicit when a URL is set.
    let events = match (&url, events) {
        (Some(_), e) => Some(e.unwrap_or_default()),
        (None, e) => e.filter(|e| !e.is_empty()),
    };
    let input = crate::services::onboarding::NewLink {
        name,
        external_id: Some(external_id),
        channel_type: Some(channel_type),
        redirect_url: Some(redirect_url),
        webhook_url: url,
        webhook_secret: Some(webhook_secret),
        webhook_events: events,
        expires_in_days: days,
    };
    crate::services::onboarding::create(
        &crate::web::session::state()?,
        &me.account_id,
        input,
        crate::domain::SECRET_MAX_LEN_PORTAL,
    )
    .await
    .rpc()
}

#[server(prefix = "/rpc", endpoint = "delete_onboarding_link")]
pub async fn delete_onboarding_link(id: String) -> Result<(), ServerFnError> {
    let me = crate::web::session::require().await?;
    crate::services::onboarding::delete(&crate::web::session::state()?, &me.account_id, &id)
        .await
        .rpc()
}

#[server(prefix = "/rpc", endpoint = "onboarding_branding")]
pub async fn onboarding_branding() -> Result<BrandingView, ServerFnError> {
    let me = crate::web::session::require().await?;
    crate::services::onboarding::branding(&crate::web::session::state()?, &me)
        .await
        .rpc()
}

#[server(prefix = "/rpc", endpoint = "remove_logo")]
pub async fn remove_logo() -> Result<(), ServerFnError> {
    let me = crate::web::session::require().await?;
    crate::services::onboarding::remove_logo(&crate::web::session::state()?, &me)
        .await
        .rpc()
}

fn status_tone(status: &str) -> Tone {
    match status {
        "completed" => Tone::Success,
        "expired" => Tone::Neutral,
        _ => Tone::Warning,
    }
}

/// What the logo form's redirect (`?logo=…`) means.
fn logo_outcome(code: &str) -> Option<(Tone, &'static str)> {
    Some(match code {
        "saved" => (
            Tone::Success,
            "Logo saved. It shows on your onboarding pages.",
        ),
        "too_large" => (Tone::Danger, "The image is too large: at most 256 KB."),
        "bad_type" => (Tone::Danger, "Use a PNG, JPEG, GIF or WebP image."),
        "empty" => (Tone::Danger, "Choose an image file first."),
        "forbidden" => (Tone::Danger, "Only owners and admins can change the logo."),
        "invalid" | "failed" => (Tone::Danger, "The upload did not work; please try again."),
        _ => return None,
    })
}

#[component]
pub fn OnboardingPage() -> impl IntoView {
    let create = ServerAction::<CreateOnboardingLink>::new();
    let remove = ServerAction::<DeleteOnboardingLink>::new();
    let remove_logo = ServerAction::<RemoveLogo>::new();
    let page = RwSignal::new(1i64);
    let list = Resource::new(
        move || (create.version().get(), remove.version().get(), page.get()),
        |(_, _, p)| list_onboarding_links(p),
    );
    let branding = Resource::new(
        move || remove_logo.version().get(),
        |_| onboarding_branding(),
    );
    // The one-time secret and the new link can only be shown by the running
    // app: before hydration the form post would create the link and lose them.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let create_busy = Signal::derive(move || create.pending().get() || !hydrated.get());
    let channel_type = RwSignal::new("whatsapp".to_string());
    // A created link empties the form, so the next one starts clean.
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            if let Some(f) = form.get() {
                f.reset();
            }
            channel_type.set("whatsapp".to_string());
        }
    });
    let q = use_query_map();
    let logo_msg = move || q.with(|q| q.get("logo")).and_then(|c| logo_outcome(&c));
    view! {
        <Title text="Onboarding links"/>
        <PageHeader
            title="Onboarding links"
            description="A hosted sign-up page for one of your own customers: they open the link, log in with Facebook and connect their WhatsApp number, Instagram account or Facebook Page to your account, with the webhook settings you chose here."
        />
        <div class="space-y-6">
            <Card title="New link">
                <ActionForm action=create node_ref=form attr:id="link-form" attr:class="space-y-4">
                    <div class="grid gap-4 sm:grid-cols-2">
                        <Field label="Name" name="name" id="link-name" required=true placeholder="Acme Bakery" hint="Shown to your customer on the page."/>
                        <Field label="External id (optional)" name="external_id" id="link-external-id" placeholder="cus_123" hint="Your reference; comes back in the redirect and events."/>
                        <div class="space-y-1">
                            <label for="link-channel-type" class="block text-sm font-medium text-slate-700">"Channel type"</label>
                            <select
                                id="link-channel-type" name="channel_type"
                                class="block w-full rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900 shadow-sm focus:border-brand-500 focus:outline-none focus:ring-2 focus:ring-brand-500/30"
                                on:change=move |ev| channel_type.set(event_target_value(&ev))
                            >
                                {ChannelType::ALL.into_iter().map(|t| view! { <option value=t.as_str()>{t.label()}</option> }).collect_view()}
                            </select>
                        </div>
                        <Field label="Expires in days" name="expires_in_days" id="link-expires" kind="number" value="30" hint="1 to 365."/>
                    </div>
                    <Field label="Redirect URL (optional)" name="redirect_url" id="link-redirect" kind="url" placeholder="https://app.example.com/onboarded" hint="Where your customer lands afterwards, with onboarding_link_id, external_id and status. It must fit one of your redirect URIs."/>
                    <fieldset class="space-y-3 rounded-lg border border-slate-200 p-4">
                        <legend class="px-1 text-sm font-medium text-slate-700">"Webhook of the new channel (optional)"</legend>
                        <Field label="Webhook URL" name="webhook_url" id="link-webhook-url" kind="url" placeholder="https://example.com/switchboard"/>
                        <div>
                            <p class="text-sm font-medium text-slate-700">"Events"</p>
                            <div class="mt-2 grid gap-2 sm:grid-cols-3">
                                {ChannelType::Whatsapp.events().iter().map(|e| {
                                    let input_id = format!("link-event-{}", e.replace('.', "-"));
                                    let label_for = input_id.clone();
                                    let whatsapp_only = !ChannelType::Facebook.events().contains(e);
                                    view! {
                                        <label for=label_for class="flex items-center gap-2 text-sm text-slate-800" class:hidden=move || whatsapp_only && channel_type.get() != "whatsapp">
                                            <input type="checkbox" id=input_id name="events[]" value=*e class="h-4 w-4 rounded border-slate-300 text-brand-600 focus:ring-brand-500"/>
                                            <span class="font-mono text-xs">{*e}</span>
                                        </label>
                                    }
                                }).collect_view()}
                            </div>
                        </div>
                        <Field label="Signing secret (optional)" name="webhook_secret" id="link-secret" kind="password" autocomplete="off" hint="16 to 64 characters. Leave empty to have one generated; it is shown once."/>
                    </fieldset>
                    <Button id="link-create" pending=create_busy>"Create link"</Button>
                </ActionForm>
                <div class="mt-4" id="link-result">
                    {move || create.value().get().map(|r| match r {
                        Err(e) => view! { <Alert tone=Tone::Danger><span class="error-text">{error_text(&e)}</span></Alert> }.into_any(),
                        Ok(l) => view! { <CreatedLink link=l/> }.into_any(),
                    })}
                </div>
            </Card>

            <ActionResult value=remove.value().into() success="Link deleted: its page no longer works."/>

            <Card title="Links">
                <Transition fallback=|| view! { <Loading/> }>
                    {move || Suspend::new(async move {
                        match list.await {
                            Err(e) => view! { <Alert tone=Tone::Danger>{error_text(&e)}</Alert> }.into_any(),
                            Ok(l) if l.onboarding_links.is_empty() && l.page == 1 => view! {
                                <EmptyState title="No onboarding links yet">"Create one above and send its URL to your customer."</EmptyState>
                            }.into_any(),
                            Ok(l) => {
                                let pages = ((l.total + l.limit - 1) / l.limit).max(1);
                                let current = l.page;
                                view! {
                                    <ul id="links-list" class="divide-y divide-slate-100">
                                        {l.onboarding_links.into_iter().map(|link| view! { <LinkRow link=link remove=remove/> }).collect_view()}
                                    </ul>
                                    {(pages > 1).then(|| view! {
                                        <nav class="mt-4 flex items-center justify-between text-sm" aria-label="Pages">
                                            <button type="button" class=button_class(Variant::Secondary) disabled=current <= 1 on:click=move |_| page.update(|p| *p = (*p - 1).max(1))>"Previous"</button>
                                            <span class="text-slate-600">{format!("Page {current} of {pages} · {} links", l.total)}</span>
                                            <button type="button" class=button_class(Variant::Secondary) disabled=current >= pages on:click=move |_| page.update(|p| *p += 1)>"Next"</button>
                                        </nav>
                                    })}
                                }.into_any()
                            }
                        }
                    })}
                </Transition>
            </Card>

            <div id="branding">
                <Card title="Your logo on onboarding pages">
                    {move || logo_msg().map(|(tone, text)| view! { <div class="mb-3"><Alert tone=tone><span id="logo-message">{text}</span></Alert></div> })}
                    <ActionResult value=remove_logo.value().into() success="Logo removed."/>
                    <Suspense fallback=|| view! { <Loading/> }>
                        {move || Suspend::new(async move {
                            match branding.await {
                                Err(e) => view! { <Alert tone=Tone::Danger>{error_text(&e)}</Alert> }.into_any(),
                                Ok(b) => view! { <Branding b=b remove=remove_logo/> }.into_any(),
                            }
                        })}
                    </Suspense>
                </Card>
            </div>
        </div>
    }
}

#[component]
fn CreatedLink(link: OnboardingLinkView) -> impl IntoView {
    view! {
        <div id="link-created" class="space-y-3 rounded-lg border border-emerald-200 bg-emerald-50 p-4">
            <p class="text-sm font-medium text-emerald-900">{format!("Link “{}” created. Send this URL to your customer:", link.name)}</p>
            <CopyField id="created-hosted-url" value=link.hosted_url.clone()/>
            {link.webhook_secret.clone().map(|s| view! {
                <div class="space-y-2">
                    <p class="text-sm font-medium text-emerald-900">"Webhook signing secret of the channel this link creates. Copy it now: it will not be shown again."</p>
                    <CopyField id="created-secret" value=s/>
                </div>
            })}
        </div>
    }
}

#[component]
fn LinkRow(link: OnboardingLinkView, remove: ServerAction<DeleteOnboardingLink>) -> impl IntoView {
    let id = link.id.clone();
    let pending = link.status == "pending";
    let url_id = format!("url-{}", link.id);
    let qr_src = format!("/signup/{}/qr.svg", link.id);
    let qr_alt = format!("QR code of the link for {}", link.name);
    let mut facts = vec![link.channel_type.label().to_string()];
    if let Some(e) = &link.external_id {
        facts.push(format!("external id {e}"));
    }
    facts.push(format!("created {}", short_time(&link.created_at)));
    match (link.status.as_str(), &link.completed_at) {
        ("completed", Some(at)) => facts.push(format!("completed {}", short_time(at))),
        ("expired", _) => facts.push(format!("expired {}", short_time(&link.expires_at))),
        _ => facts.push(format!("expires {}", short_time(&link.expires_at))),
    }
    let connected = link
        .phone_number
        .as_ref()
        .map(|n| format!("+{n}"))
        .or_else(|| link.channel_id.clone().map(|c| format!("channel {c}")));
    view! {
        <li class="space-y-3 py-4" data-link-id=link.id.clone() data-status=link.status.clone()>
            <div class="flex flex-col gap-2 sm:flex-row sm:items-start sm:justify-between">
                <div class="min-w-0">
                    <p class="flex flex-wrap items-center gap-2">
                        <span class="truncate text-sm font-medium text-slate-900">{link.name.clone()}</span>
                        <span class="link-status"><Badge tone=status_tone(&link.status) text=link.status.clone()/></span>
                    </p>
                    <p class="mt-1 text-xs text-slate-500">{facts.join(" · ")}</p>
                    {connected.map(|c| {
                        let href = link.channel_id.clone().map(|id| format!("/channels/{id}")).unwrap_or_default();
                        view! { <p class="mt-1 text-xs text-slate-700">"Connected: "<a class="font-medium text-brand-600 hover:underline" href=href>{c}</a></p> }
                    })}
                </div>
                {pending.then(|| view! {
                    <div class="self-end sm:self-auto">
                    <Confirm text="Delete" label=format!("Delete {}", link.name) question="The page stops working at once. Delete this link?">
                        <ActionForm action=remove>
                            <input type="hidden" name="id" value=id.clone()/>
                            <button type="submit" class=button_class(Variant::Primary)>"Yes, delete"</button>
                        </ActionForm>
                    </Confirm>
                    </div>
                })}
            </div>
            {pending.then(|| view! {
                <div class="flex flex-col gap-2 sm:flex-row sm:items-start">
                    <div class="min-w-0 flex-1"><CopyField id=url_id.clone() value=link.hosted_url.clone()/></div>
                    <details class="qr shrink-0">
                        <summary class=format!("{} cursor-pointer list-none", button_class(Variant::Secondary))>"QR code"</summary>
                        <div class="mt-2 inline-block rounded-lg border border-slate-200 bg-white p-2">
                            <img src=qr_src.clone() alt=qr_alt.clone() width="200" height="200" loading="lazy"/>
                            <a class="mt-1 block text-center text-xs font-medium text-brand-600 hover:underline" href=qr_src.clone() download="onboarding-qr.svg" rel="external">"Download SVG"</a>
                        </div>
                    </details>
                </div>
            })}
        </li>
    }
}

#[component]
fn Branding(b: BrandingView, remove: ServerAction<RemoveLogo>) -> impl IntoView {
    let initial: String = b
        .account_name
        .chars()
        .find(|c| c.is_alphanumeric())
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_else(|| "?".into());
    let has_logo = b.logo_url.is_some();
    view! {
        <div class="flex items-center gap-3">
            {match b.logo_url.clone() {
                Some(src) => view! { <img id="logo-preview" src=src alt="Your logo" class="h-12 w-12 rounded-lg border border-slate-200 bg-white object-contain"/> }.into_any(),
                None => view! { <span class="inline-flex h-12 w-12 items-center justify-center rounded-lg border border-brand-100 bg-brand-50 text-xl font-bold text-brand-700" aria-hidden="true">{initial}</span> }.into_any(),
            }}
            <div class="min-w-0">
                <p class="truncate text-sm font-semibold text-slate-900">{b.account_name.clone()}</p>
                <p class="text-xs text-slate-500">{if has_logo { "Shown with your account name on every onboarding page." } else { "No logo yet: pages show your initial." }}</p>
            </div>
        </div>
        {b.can_manage.then(|| view! {
            <div class="mt-4 flex flex-col gap-3 sm:flex-row sm:items-end">
                <form method="post" action="/onboarding/logo" enctype="multipart/form-data" class="flex flex-1 flex-col gap-3 sm:flex-row sm:items-end">
                    <div class="min-w-0 flex-1 space-y-1">
                        <label for="logo-file" class="block text-sm font-medium text-slate-700">"Logo image"</label>
                        <input id="logo-file" name="logo" type="file" required accept="image/png,image/jpeg,image/gif,image/webp" class="block w-full text-sm text-slate-700 file:mr-3 file:rounded-lg file:border-0 file:bg-slate-100 file:px-3 file:py-2 file:text-sm file:font-medium file:text-slate-800 hover:file:bg-slate-200"/>
                        <p class="text-xs text-slate-500">"PNG, JPEG, GIF or WebP, at most 256 KB. Square images look best."</p>
                    </div>
                    <button type="submit" id="logo-upload" class=button_class(Variant::Primary)>"Upload"</button>
                </form>
                {has_logo.then(|| view! {
                    <ActionForm action=remove>
                        <button type="submit" id="logo-remove" class=button_class(Variant::Secondary)>"Remove logo"</button>
                    </ActionForm>
                })}
            </div>
        })}
    }
}
