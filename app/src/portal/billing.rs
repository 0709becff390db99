//! Billing (SPEC §7): trial, licenses per tier and which channel uses which,
//! subscribe, change quantity, cancel at period end, invoices.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::ui::*;
use crate::domain::billing::{BillingOverview, LicenseView, Tier};
#[cfg(feature = "ssr")]
use crate::web::session::Rpc;

#[server(prefix = "/rpc", endpoint = "billing_overview")]
pub async fn get_billing_overview() -> Result<BillingOverview, ServerFnError> {
    let me = crate::web::session::require().await?;
    crate::services::billing::overview(&crate::web::session::state()?, &me)
        .await
        .rpc()
}

/// For plain form posts (the redirecting buttons): sends the browser to `url`,
/// or back to the Billing page with the error in words.
#[cfg(feature = "ssr")]
fn redirect_or_explain(
    result: Result<String, crate::error::AppError>,
) -> Result<(), ServerFnError> {
    match result {
        Ok(url) => {
            leptos_axum::redirect(&url);
            Ok(())
        }
        Err(e @ crate::error::AppError::Client { .. }) => {
            let q = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("billing_error", &e.public_detail())
                .finish();
            leptos_axum::redirect(&format!("/billing?{q}"));
            Ok(())
        }
        Err(e) => Err(e).rpc(),
    }
}

/// Subscribe: a plain HTML form posts here and the answer is a redirect to
/// the provider's checkout page.
#[server(prefix = "/rpc", endpoint = "billing_checkout")]
pub async fn start_checkout(tier: String, quantity: String) -> Result<(), ServerFnError> {
    let me = crate::web::session::require().await?;
    let state = crate::web::session::state()?;
    redirect_or_explain(
        crate::services::billing::start_checkout(&state, &me, &tier, &quantity).await,
    )
}

/// The provider's customer portal (payment method, quantity, cancel).
#[server(prefix = "/rpc", endpoint = "billing_portal")]
pub async fn open_billing_portal() -> Result<(), ServerFnError> {
    let me = crate::web::session::require().await?;
    let state = crate::web::session::state()?;
    redirect_or_explain(crate::services::billing::open_portal(&state, &me).await)
}

#[server(prefix = "/rpc", endpoint = "billing_quantity")]
pub async fn change_quantity(
    license_id: String,
    quantity: String,
) -> Result<LicenseView, ServerFnError> {
    let me = crate::web::session::require().await?;
    crate::services::billing::change_quantity_as(
        &crate::web::session::state()?,
        &me,
        &license_id,
        &quantity,
    )
    .await
    .rpc()
}

/// `cancel` = `true` cancels at the end of the period, `false` keeps renewing.
#[server(prefix = "/rpc", endpoint = "billing_cancel")]
pub async fn set_cancel(license_id: String, cancel: String) -> Result<LicenseView, ServerFnError> {
    let me = crate::web::session::require().await?;
    crate::services::billing::set_cancel_as(
        &crate::web::session::state()?,
        &me,
        &license_id,
        cancel == "true",
    )
    .await
    .rpc()
}

const CHECKOUT_URL: &str = "/rpc/billing_checkout";
const PORTAL_URL: &str = "/rpc/billing_portal";

fn date(rfc3339: &str) -> String {
    rfc3339.get(..10).unwrap_or(rfc3339).to_string()
}

fn type_label(t: &str) -> &'static str {
    match t {
        "whatsapp" => "WhatsApp",
        "instagram" => "Instagram",
        "facebook" => "Facebook",
        _ => "Channel",
    }
}

fn source_label(s: &str) -> &'static str {
    match s {
        "trial" => "Trial",
        "stripe" => "Subscription",
        "enterprise" => "Granted",
        _ => "Other",
    }
}

fn status_tone(s: &str) -> Tone {
    match s {
        "active" | "paid" => Tone::Success,
        "expired" | "open" => Tone::Warning,
        "canceled" | "failed" => Tone::Danger,
        _ => Tone::Neutral,
    }
}

#[component]
pub fn BillingPage() -> impl IntoView {
    let quantity = ServerAction::<ChangeQuantity>::new();
    let cancel = ServerAction::<SetCancel>::new();
    let overview = Resource::new(
        move || (quantity.version().get(), cancel.version().get()),
        |_| get_billing_overview(),
    );
    let q = use_query_map();
    let checkout = q.read_untracked().get("checkout").unwrap_or_default();
    let billing_error = q.read_untracked().get("billing_error").unwrap_or_default();
    view! {
        <Title text="Billing"/>
        <PageHeader
            title="Billing"
            description="A license holds one WhatsApp number, one Instagram account and one Facebook Page. Starter covers text messages; Pro adds media, templates and onboarding links."
        />
        <div class="space-y-6">
            {(checkout == "success").then(|| view! {
                <div id="checkout-success"><Alert tone=Tone::Success>"Payment received. The licenses are active, and deliveries that were held are on their way."</Alert></div>
            })}
            {(checkout == "canceled").then(|| view! {
                <Alert tone=Tone::Info>"Checkout canceled: nothing was charged and nothing changed."</Alert>
            })}
            {(!billing_error.is_empty()).then(|| view! {
                <Alert tone=Tone::Danger><span class="error-text">{billing_error.clone()}</span></Alert>
            })}
            <ActionResult value=quantity.value().into() success="The number of licenses was changed."/>
            <ActionResult value=cancel.value().into() success="Saved. The licenses stay active until the end of the period."/>
            <Transition fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Err(e) => view! { <Alert tone=Tone::Danger>{error_text(&e)}</Alert> }.into_any(),
                        Ok(o) => view! { <Overview o=o quantity=quantity cancel=cancel/> }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}

#[component]
fn Overview(
    o: BillingOverview,
    quantity: ServerAction<ChangeQuantity>,
    cancel: ServerAction<SetCancel>,
) -> impl IntoView {
    let warning = o.warning.clone().map(|w| {
        let tone = if w.kind == "over" {
            Tone::Danger
        } else {
            Tone::Warning
        };
        view! {
            <div id="billing-warning" data-kind=w.kind.clone()>
                <Alert tone=tone>
                    <p class="font-semibold">{w.title.clone()}</p>
                    <p class="mt-1">{w.text.clone()}</p>
                </Alert>
            </div>
        }
    });
    let has_paid = o.licenses.iter().any(|l| l.manageable);
    let subscribed: Vec<Tier> = o
        .licenses
        .iter()
        .filter(|l| l.manageable)
        .map(|l| l.tier)
        .collect();
    let provider = o.provider.clone();
    let sandbox = o.provider == "sandbox";
    view! {
        {warning}
        <div class="grid gap-4 md:grid-cols-2">
            <Card title="Status">
                <div class="flex flex-wrap items-center gap-2">
                    <span id="billing-status"><Badge tone=status_tone(&o.status) text=o.status.clone()/></span>
                    {sandbox.then(|| view! { <Badge tone=Tone::Warning text="sandbox billing"/> })}
                </div>
                {o.trial.clone().map(|t| view! {
                    <p id="trial-line" class="mt-3 text-sm text-slate-700">
                        {if t.active {
                            format!("Trial: {} day{} left (ends {}).", t.days_left, if t.days_left == 1 { "" } else { "s" }, short_time(&t.ends_at))
                        } else if t.replaced {
                            "Trial: replaced by your licenses.".to_string()
                        } else {
                            format!("Trial: ended {}.", short_time(&t.ends_at))
                        }}
                    </p>
                })}
                {sandbox.then(|| view! {
                    <p class="mt-2 text-xs text-slate-500">"Sandbox billing: the checkout page pays or declines on a click, without a card. Nothing is charged."</p>
                })}
            </Card>
            <Card title="Licenses in use">
                {if o.usage.is_empty() {
                    view! { <p id="usage-empty" class="text-sm text-slate-600">"No active licenses."</p> }.into_any()
                } else {
                    view! {
                        <ul id="usage" class="space-y-2">
                            {o.usage.iter().map(|u| view! {
                                <li class="flex items-center justify-between gap-3 text-sm" data-tier=u.tier.as_str()>
                                    <span class="font-medium text-slate-800">{u.tier.label()}</span>
                                    <span class="usage-count text-slate-700">{format!("{} of {} in use", u.used, u.total)}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
                <p class="mt-3 text-xs text-slate-500">"A license is in use when at least one channel holds it."</p>
            </Card>
        </div>
        {o.can_manage.then(|| view! { <Subscribe has_paid=has_paid subscribed=subscribed.clone() provider=provider.clone() min=o.min_quantity/> })}
        {(!o.can_manage).then(|| view! {
            <Alert tone=Tone::Info>"Only owners and admins can change billing."</Alert>
        })}
        <Card title="Licenses">
            {if o.licenses.is_empty() {
                view! { <EmptyState title="No licenses yet">"Subscribe above; each license holds one channel of every type."</EmptyState> }.into_any()
            } else {
                let can_manage = o.can_manage;
                view! {
                    <ul id="license-list" class="divide-y divide-slate-100">
                        {o.licenses.iter().cloned().map(|l| view! { <LicenseRow l=l can_manage=can_manage quantity=quantity cancel=cancel/> }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </Card>
        <Card title="Channels and their licenses">
            {if o.channels.is_empty() {
                view! { <EmptyState title="No active channels">"Connected channels take licenses in the order they were connected."</EmptyState> }.into_any()
            } else {
                view! {
                    <ul id="channel-licenses" class="divide-y divide-slate-100">
                        {o.channels.iter().map(|c| {
                            let lic = match (&c.license, c.tier) {
                                (Some(l), Some(t)) => view! { <span class="text-sm text-slate-700">{format!("{l} · {}", t.label())}</span> }.into_any(),
                                _ => view! { <Badge tone=Tone::Danger text="no license"/> }.into_any(),
                            };
                            view! {
                                <li class="flex flex-col gap-1 py-3 sm:flex-row sm:items-center sm:justify-between" data-channel-id=c.channel_id.clone()>
                                    <a href=format!("/channels/{}", c.channel_id) class="min-w-0 hover:underline">
                                        <span class="block truncate text-sm font-medium text-slate-900">{c.name.clone()}</span>
                                        <span class="block text-xs text-slate-500">{type_label(&c.channel_type)}</span>
                                    </a>
                                    {lic}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <p class="mt-3 text-xs text-slate-500">"Channels take the active licenses in order: the first WhatsApp, Instagram and Facebook channels share the first license, the second channel of each type uses the next one, and so on."</p>
        </Card>
        <Card title="Invoices">
            {if o.invoices.is_empty() {
                view! { <EmptyState title="No invoices yet">"Invoices appear here after the first payment."</EmptyState> }.into_any()
            } else {
                view! {
                    <ul id="invoice-list" class="divide-y divide-slate-100">
                        {o.invoices.iter().map(|i| view! {
                            <li class="flex flex-col gap-1 py-3 sm:flex-row sm:items-center sm:justify-between">
                                <div class="min-w-0">
                                    <p class="text-sm font-medium text-slate-900">{i.description.clone()}</p>
                                    <p class="text-xs text-slate-500">{format!("{} · {}", date(&i.created_at), i.number.clone().unwrap_or_else(|| "no number".into()))}</p>
                                </div>
                                <div class="flex items-center gap-3">
                                    <span class="text-sm tabular-nums text-slate-800">{i.amount.clone()}</span>
                                    <Badge tone=status_tone(&i.status) text=i.status.clone()/>
                                    {i.url.clone().map(|u| view! { <a href=u rel="external noopener" target="_blank" class="text-sm font-medium text-brand-600 hover:underline">"View"</a> })}
                                </div>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </Card>
    }
}

/// Subscribe to a tier the account does not pay for yet (a running
/// subscription changes its quantity in the list below instead).
#[component]
fn Subscribe(has_paid: bool, subscribed: Vec<Tier>, provider: String, min: i64) -> impl IntoView {
    let open: Vec<Tier> = Tier::ALL
        .iter()
        .rev()
        .copied()
        .filter(|t| !subscribed.contains(t))
        .collect();
    let selected = open.first().map(|t| t.as_str()).unwrap_or("pro");
    let tiers: Vec<(String, String)> = open
        .iter()
        .map(|t| (t.as_str().to_string(), t.label().to_string()))
        .collect();
    let title = if has_paid {
        "Subscriptions"
    } else {
        "Subscribe"
    };
    let form = (!open.is_empty()).then(|| view! {
        <form method="post" action=CHECKOUT_URL class="flex flex-col gap-3 sm:flex-row sm:items-end">
            <div class="sm:w-44"><Select label="Tier" name="tier" id="subscribe-tier" options=tiers selected=selected/></div>
            <div class="sm:w-32"><Field label="Licenses" name="quantity" kind="number" id="subscribe-quantity" value=min.to_string() required=true/></div>
            <button type="submit" id="subscribe" class=button_class(Variant::Primary)>"Continue to checkout"</button>
        </form>
        <p class="mt-2 text-xs text-slate-500">"Starter: text messages. Pro: text, media, templates and onboarding links."</p>
        <p class="mt-1 text-xs text-slate-500">
            {if provider == "stripe" {
                "You pay on Stripe's checkout page and come back here. Licenses start as soon as Stripe confirms the payment."
            } else {
                "The sandbox checkout page opens; Pay starts the licenses at once."
            }}
        </p>
    });
    view! {
        <Card title=title>
            {form}
            {has_paid.then(|| view! { <p class="mt-3 text-sm text-slate-700">"To add or remove licenses of a running subscription, change its quantity in the list below."</p> })}
            {has_paid.then(|| view! {
                <form method="post" action=PORTAL_URL class="mt-4">
                    <button type="submit" id="open-portal" class=button_class(Variant::Secondary)>
                        {if provider == "stripe" { "Manage payment method and invoices" } else { "Open the customer portal" }}
                    </button>
                </form>
            })}
        </Card>
    }
}

#[component]
fn LicenseRow(
    l: LicenseView,
    can_manage: bool,
    quantity: ServerAction<ChangeQuantity>,
    cancel: ServerAction<SetCancel>,
) -> impl IntoView {
    let ends = match (l.status.as_str(), l.source.as_str()) {
        ("active", _) if l.auto_renew => format!("renews {}", date(&l.expires_at)),
        ("active", _) => format!("ends {}", date(&l.expires_at)),
        ("canceled", "trial") => "ended early: replaced by a subscription or grant".to_string(),
        ("canceled", _) => "canceled".to_string(),
        _ => format!("ended {}", date(&l.expires_at)),
    };
    let controls = (can_manage && l.manageable).then(|| {
        let id = l.id.clone();
        let qform_id = l.id.clone();
        let q = l.quantity.to_string();
        let qid = format!("quantity-{}", l.id);
        let toggle = if l.auto_renew {
            let label = format!("Cancel {} at period end", l.label);
            view! {
                <Confirm text="Cancel at period end" label=label question="The licenses stay active until the end of the period, then stop. Cancel?">
                    <ActionForm action=cancel>
                        <input type="hidden" name="license_id" value=id.clone()/>
                        <input type="hidden" name="cancel" value="true"/>
                        <button type="submit" class=button_class(Variant::Primary)>"Yes, cancel"</button>
                    </ActionForm>
                </Confirm>
            }
            .into_any()
        } else {
            view! {
                <ActionForm action=cancel>
                    <input type="hidden" name="license_id" value=id.clone()/>
                    <input type="hidden" name="cancel" value="false"/>
                    <button type="submit" class=button_class(Variant::Secondary)>"Keep renewing"</button>
                </ActionForm>
            }
            .into_any()
        };
        view! {
            <div class="mt-3 flex flex-col gap-3 sm:flex-row sm:items-end sm:justify-between">
                <ActionForm action=quantity attr:class="flex items-end gap-2">
                    <input type="hidden" name="license_id" value=qform_id/>
                    <div class="w-28"><Field label="Licenses" name="quantity" kind="number" id=qid value=q required=true/></div>
                    <Button variant=Variant::Secondary pending=quantity.pending()>"Update"</Button>
                </ActionForm>
                {toggle}
            </div>
        }
    });
    view! {
        <li class="py-4" data-license-id=l.id.clone() data-tier=l.tier.as_str() data-status=l.status.clone()>
            <div class="flex flex-col gap-2 sm:flex-row sm:items-center sm:justify-between">
                <div class="min-w-0">
                    <p class="text-sm font-medium text-slate-900">
                        <span class="license-label mr-2 rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs text-slate-700">{l.label.clone()}</span>
                        {format!("{} × {} · {}", l.tier.label(), l.quantity, source_label(&l.source))}
                    </p>
                    <p class="mt-1 text-xs text-slate-500">{ends}</p>
                </div>
                <span class="self-start sm:self-auto"><Badge tone=status_tone(&l.status) text=l.status.clone()/></span>
            </div>
            {controls}
        </li>
    }
}
