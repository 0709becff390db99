//! A WhatsApp channel's message templates (SPEC §5.3): the list synced from
//! Meta with status badges, a create form with a live preview of the body and
//! its `{{1}}` / `{{name}}` variables (after hydration; the form posts without
//! JavaScript too), and delete behind a confirmation.

// The create form's server function takes one argument per form field.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use super::ui::*;
use crate::domain::ChannelView;
use crate::domain::templates::{ParamFormat, Piece, TemplateView, placeholders, preview};
#[cfg(feature = "ssr")]
use crate::web::session::Rpc;

/// The page's data: the channel, and its templates or why they cannot be shown.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChannelTemplates {
    pub channel: ChannelView,
    pub templates: Vec<TemplateView>,
    pub error: Option<String>,
}

#[server(prefix = "/rpc", endpoint = "list_channel_templates")]
pub async fn list_channel_templates(
    channel_id: String,
    sync: bool,
) -> Result<ChannelTemplates, ServerFnError> {
    let me = crate::web::session::require().await?;
    let state = crate::web::session::state()?;
    let channel = crate::services::channels::get(&state, &me.account_id, &channel_id)
        .await
        .rpc()?;
    let (templates, error) =
        match crate::services::templates::list(&state, &me.account_id, &channel_id, sync, None)
            .await
        {
            Ok(t) => (t, None),
            Err(e) => (vec![], Some(e.public_detail())),
        };
    Ok(ChannelTemplates {
        channel,
        templates,
        error,
    })
}

/// Meta's components from the form's fields; examples are one per line, in
/// the order of the variables (`{{1}}`, `{{2}}` … or first appearance).
#[cfg(feature = "ssr")]
fn components_from_form(
    format: ParamFormat,
    header: &str,
    header_example: &str,
    body: &str,
    examples: &str,
    footer: &str,
) -> Vec<serde_json::Value> {
    use serde_json::json;
    let mut out = Vec::new();
    let header = header.trim();
    if !header.is_empty() {
        let mut h = json!({"type": "HEADER", "format": "TEXT", "text": header});
        if let Some(v) = placeholders(header).first() {
            h["example"] = match format {
                ParamFormat::Positional => json!({"header_text": [header_example.trim()]}),
                ParamFormat::Named => {
                    json!({"header_text_named_params": [{"param_name": v, "example": header_example.trim()}]})
                }
            };
        }
        out.push(h);
    }
    let vars = example_order(body, format);
    let lines: Vec<&str> = examples
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut b = json!({"type": "BODY", "text": body.trim()});
    if !vars.is_empty() {
        b["example"] = match format {
            ParamFormat::Positional => json!({"body_text": [lines]}),
            ParamFormat::Named => json!({"body_text_named_params": vars.iter().zip(&lines)
                .map(|(v, e)| json!({"param_name": v, "example": e})).collect::<Vec<_>>()}),
        };
    }
    out.push(b);
    let footer = footer.trim();
    if !footer.is_empty() {
        out.push(json!({"type": "FOOTER", "text": footer}));
    }
    out
}

/// The order examples are typed in: numeric for `{{1}}`, first appearance for names.
fn example_order(text: &str, format: ParamFormat) -> Vec<String> {
    let mut vars = placeholders(text);
    if format == ParamFormat::Positional {
        vars.sort_by_key(|v| v.parse::<u32>().unwrap_or(u32::MAX));
    }
    vars
}

#[server(prefix = "/rpc", endpoint = "create_channel_template")]
pub async fn create_channel_template(
    channel_id: String,
    name: String,
    language: String,
    category: String,
    parameter_format: String,
    body: String,
    header: Option<String>,
    header_example: Option<String>,
    examples: Option<String>,
    footer: Option<String>,
) -> Result<TemplateView, ServerFnError> {
    let me = crate::web::session::require().await?;
    let state = crate::web::session::state()?;
    let format = ParamFormat::parse(&parameter_format).unwrap_or(ParamFormat::Positional);
    let req = crate::services::templates::NewTemplateRequest {
        name: name.trim().to_string(),
        language: language.trim().to_string(),
        category,
        components: components_from_form(
            format,
            header.as_deref().unwrap_or_default(),
            header_example.as_deref().unwrap_or_default(),
            &body,
            examples.as_deref().unwrap_or_default(),
            footer.as_deref().unwrap_or_default(),
        ),
        parameter_format: Some(parameter_format),
        allow_category_change: None,
    };
    crate::services::templates::create(&state, &me.account_id, &channel_id, &req)
        .await
        .rpc()
}

#[server(prefix = "/rpc", endpoint = "delete_channel_template")]
pub async fn delete_channel_template(
    channel_id: String,
    template_id: String,
) -> Result<(), ServerFnError> {
    let me = crate::web::session::require().await?;
    let state = crate::web::session::state()?;
    crate::services::templates::delete(&state, &me.account_id, &channel_id, &template_id, false)
        .await
        .rpc()
}

fn status_tone(status: &str) -> Tone {
    match status {
        "APPROVED" => Tone::Success,
        "PENDING" | "IN_APPEAL" => Tone::Info,
        "PAUSED" | "FLAGGED" | "LIMIT_EXCEEDED" => Tone::Warning,
        "REJECTED" | "DISABLED" | "DELETED" | "PENDING_DELETION" | "LOCKED" => Tone::Danger,
        _ => Tone::Neutral,
    }
}

#[component]
pub fn TemplatesPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let create = ServerAction::<CreateChannelTemplate>::new();
    let remove = ServerAction::<DeleteChannelTemplate>::new();
    let resync = RwSignal::new(0usize);
    let data = Resource::new(
        move || {
            (
                id.get(),
                create.version().get(),
                remove.version().get(),
                resync.get(),
            )
        },
        |(id, ..)| list_channel_templates(id, true),
    );
    view! {
        <Title text="Message templates"/>
        <p class="mb-2"><a href=move || format!("/channels/{}", id.get()) class="text-sm text-brand-600 hover:underline">"← Channel settings"</a></p>
        <PageHeader
            title="Message templates"
            description="Pre-approved WhatsApp messages: the only kind you can send to someone who has not written in the last 24 hours. Meta reviews every new or edited template; its decision arrives as template.status_updated."
        />
        <div class="space-y-6">
            <ActionResult value=remove.value().into() success="Template deleted at Meta."/>
            <Card title="Templates">
                <Transition fallback=|| view! { <Loading text="Reading templates from Meta…"/> }>
                    {move || Suspend::new(async move {
                        match data.await {
                            Err(e) => view! { <Alert tone=Tone::Danger>{error_text(&e)}</Alert> }.into_any(),
                            Ok(d) => view! { <TemplateList d=d remove=remove/> }.into_any(),
                        }
                    })}
                </Transition>
                <button type="button" id="templates-sync" class=format!("mt-4 {}", button_class(Variant::Secondary)) on:click=move |_| resync.update(|n| *n += 1)>"Sync from Meta"</button>
            </Card>
            <CreateCard channel_id=id create=create/>
        </div>
    }
}

#[component]
fn TemplateList(d: ChannelTemplates, remove: ServerAction<DeleteChannelTemplate>) -> impl IntoView {
    let channel_id = d.channel.id.clone();
    if let Some(e) = d.error {
        return view! { <Alert tone=Tone::Warning><span class="error-text">{e}</span></Alert> }
            .into_any();
    }
    if d.templates.is_empty() {
        return view! {
            <EmptyState title="No templates yet">"Create one below; Meta usually decides within minutes."</EmptyState>
        }
        .into_any();
    }
    let total = d.templates.len();
    view! {
        <p class="mb-3 text-xs text-slate-500">{format!("{total} template(s) on WhatsApp Business Account {}", d.channel.waba_id.clone().unwrap_or_default())}</p>
        <ul id="template-list" class="divide-y divide-slate-100">
            {d.templates.into_iter().map(|t| {
                let body = t.body_text();
                let label = format!("Delete {} ({})", t.name, t.language);
                let channel_id = channel_id.clone();
                let meta = format!("{} · {} · {}", t.language, t.category.clone().unwrap_or_default(), t.parameter_format);
                view! {
                    <li class="flex flex-col gap-3 py-3 sm:flex-row sm:items-start sm:justify-between" data-template=t.name.clone() data-status=t.status.clone()>
                        <div class="min-w-0 flex-1">
                            <div class="flex flex-wrap items-center gap-2">
                                <p class="font-mono text-sm font-medium break-all text-slate-900">{t.name.clone()}</p>
                                <Badge tone=status_tone(&t.status) text=t.status.clone()/>
                            </div>
                            <p class="mt-0.5 text-xs text-slate-500">{meta}</p>
                            <p class="mt-1 text-sm break-words whitespace-pre-line text-slate-700">{body}</p>
                            {t.rejected_reason.clone().map(|r| view! { <p class="mt-1 text-xs text-red-700">{format!("Rejected: {r}")}</p> })}
                        </div>
                        <Confirm text="Delete" label=label question="Deletes this language of the template at Meta. The name cannot be reused for 30 days. Delete?">
                            <ActionForm action=remove>
                                <input type="hidden" name="channel_id" value=channel_id/>
                                <input type="hidden" name="template_id" value=t.id.clone()/>
                                <button type="submit" class=button_class(Variant::Primary)>"Yes, delete"</button>
                            </ActionForm>
                        </Confirm>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

/// The body as it will read, variables marked (filled with examples when given).
#[component]
fn Preview(
    header: RwSignal<String>,
    body: RwSignal<String>,
    footer: RwSignal<String>,
    examples: RwSignal<String>,
    format: RwSignal<String>,
) -> impl IntoView {
    let fmt = move || ParamFormat::parse(&format.get()).unwrap_or(ParamFormat::Positional);
    // Examples are typed in the order of `example_order`; the preview needs
    // them by first appearance.
    let pieces = move || {
        let text = body.get();
        let order = example_order(&text, fmt());
        let lines: Vec<String> = examples
            .get()
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        let by_appearance: Vec<String> = placeholders(&text)
            .iter()
            .map(|v| {
                order
                    .iter()
                    .position(|o| o == v)
                    .and_then(|i| lines.get(i).cloned())
                    .unwrap_or_default()
            })
            .collect();
        preview(&text, &by_appearance)
    };
    let vars = move || example_order(&body.get(), fmt());
    view! {
        <div id="template-preview" class="rounded-xl border border-slate-200 bg-slate-50 p-4">
            <p class="mb-2 text-xs font-medium text-slate-500">"Preview"</p>
            <div class="rounded-lg border border-slate-200 bg-white p-3 text-sm text-slate-900 shadow-sm">
                {move || (!header.get().trim().is_empty()).then(|| view! { <p class="mb-1 font-semibold">{header.get()}</p> })}
                <p id="template-preview-body" class="break-words whitespace-pre-line">
                    {move || {
                        let p = pieces();
                        if p.is_empty() {
                            return view! { <span class="text-slate-400">"The body text appears here."</span> }.into_any();
                        }
                        p.into_iter().map(|piece| match piece {
                            Piece::Text(t) => view! { <span>{t}</span> }.into_any(),
                            Piece::Var { name, example: Some(e) } => view! { <strong data-var=name>{e}</strong> }.into_any(),
                            Piece::Var { name, example: None } => view! { <span data-var=name.clone()><Badge tone=Tone::Info text=format!("{{{{{name}}}}}")/></span> }.into_any(),
                        }).collect_view().into_any()
                    }}
                </p>
                {move || (!footer.get().trim().is_empty()).then(|| view! { <p class="mt-2 text-xs text-slate-500">{footer.get()}</p> })}
            </div>
            <p id="template-preview-vars" class="mt-2 text-xs text-slate-600">
                {move || {
                    let v = vars();
                    if v.is_empty() {
                        "No variables. Write {{1}}, {{2}} (positional) or {{first_name}} (named) where the message differs per person.".to_string()
                    } else {
                        format!("Examples, one per line, in this order: {}", v.iter().map(|x| format!("{{{{{x}}}}}")).collect::<Vec<_>>().join(", "))
                    }
                }}
            </p>
        </div>
    }
}

#[component]
fn CreateCard(
    channel_id: Memo<String>,
    create: ServerAction<CreateChannelTemplate>,
) -> impl IntoView {
    let header = RwSignal::new(String::new());
    let body = RwSignal::new(String::new());
    let footer = RwSignal::new(String::new());
    let examples = RwSignal::new(String::new());
    let format = RwSignal::new("positional".to_string());
    let categories = vec![
        (
            "UTILITY".to_string(),
            "Utility (order updates, reminders)".to_string(),
        ),
        (
            "MARKETING".to_string(),
            "Marketing (offers, news)".to_string(),
        ),
        (
            "AUTHENTICATION".to_string(),
            "Authentication (one-time codes)".to_string(),
        ),
    ];
    let formats = vec![
        (
            "positional".to_string(),
            "Positional: {{1}}, {{2}}".to_string(),
        ),
        ("named".to_string(), "Named: {{first_name}}".to_string()),
    ];
    view! {
        <Card title="New template">
            <div class="grid gap-6 lg:grid-cols-5">
                <ActionForm action=create attr:id="template-form" attr:class="space-y-4 lg:col-span-3">
                    <input type="hidden" name="channel_id" value=move || channel_id.get()/>
                    <div class="grid gap-4 sm:grid-cols-2">
                        <Field label="Name" name="name" id="template-name" placeholder="order_update" autocomplete="off" required=true hint="Lowercase letters, digits and underscores."/>
                        <Field label="Language" name="language" id="template-language" value="en_US" required=true hint="Meta's code: en, en_US, pt_BR …"/>
                        <Select label="Category" name="category" id="template-category" options=categories selected="UTILITY"/>
                        <div on:change=move |ev| format.set(event_target_value(&ev))>
                            <Select label="Variables" name="parameter_format" id="template-format" options=formats selected="positional"/>
                        </div>
                    </div>
                    <div on:input=move |ev| header.set(event_target_value(&ev))>
                        <Field label="Header (optional)" name="header" id="template-header" hint="Up to 60 characters, at most one variable."/>
                    </div>
                    <Field label="Header example" name="header_example" id="template-header-example" hint="Only when the header has a variable."/>
                    <div on:input=move |ev| body.set(event_target_value(&ev))>
                        <TextArea label="Body" name="body" id="template-body" rows=5 required=true placeholder="Hi {{1}}, your order {{2}} is on its way." hint="Up to 1024 characters."/>
                    </div>
                    <div on:input=move |ev| examples.set(event_target_value(&ev))>
                        <TextArea label="Examples" name="examples" id="template-examples" rows=3 hint="Meta needs a sample value for every variable: one per line."/>
                    </div>
                    <div on:input=move |ev| footer.set(event_target_value(&ev))>
                        <Field label="Footer (optional)" name="footer" id="template-footer" hint="Up to 60 characters, no variables."/>
                    </div>
                    <div id="template-result"><ActionResult value=create.value().into() success="Template submitted: Meta reviews it now (status PENDING)."/></div>
                    <Button id="template-create" pending=create.pending()>"Submit for review"</Button>
                </ActionForm>
                <div class="lg:col-span-2">
                    <Preview header=header body=body footer=footer examples=examples format=format/>
                </div>
            </div>
        </Card>
    }
}

// ---- the Send test message box's template picker ------------------------------------

/// An approved template as the picker offers it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PickableTemplate {
    /// `name|language`, the picker's value.
    pub key: String,
    pub label: String,
    /// Variables in the order their values are typed.
    pub variables: Vec<String>,
}

/// The channel's approved templates (read from Meta when the copy is empty).
#[server(prefix = "/rpc", endpoint = "approved_templates")]
pub async fn approved_templates(
    channel_id: String,
) -> Result<Vec<PickableTemplate>, ServerFnError> {
    let me = crate::web::session::require().await?;
    let state = crate::web::session::state()?;
    let list = |sync| {
        crate::services::templates::list(
            &state,
            &me.account_id,
            &channel_id,
            sync,
            Some("APPROVED"),
        )
    };
    let mut found = list(false).await.rpc()?;
    if found.is_empty() {
        found = list(true).await.rpc()?;
    }
    Ok(found
        .into_iter()
        .map(|t| {
            let format = ParamFormat::parse(&t.parameter_format).unwrap_or(ParamFormat::Positional);
            PickableTemplate {
                key: format!("{}|{}", t.name, t.language),
                label: format!("{} ({})", t.name, t.language),
                variables: example_order(&t.body_text(), format),
            }
        })
        .collect())
}

/// Sends an approved template through `send-template`; body values one per line.
#[server(prefix = "/rpc", endpoint = "send_test_template")]
pub async fn send_test_template(
    channel_id: String,
    recipient: String,
    template: String,
    values: Option<String>,
) -> Result<super::send_test::TestSent, ServerFnError> {
    use serde_json::{Map, Value};
    let me = crate::web::session::require().await?;
    let state = crate::web::session::state()?;
    let (name, language) = template.split_once('|').unwrap_or((template.as_str(), ""));
    let lines: Vec<String> = values
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let known = crate::services::templates::list(&state, &me.account_id, &channel_id, false, None)
        .await
        .rpc()?;
    let body = known
        .iter()
        .find(|t| t.name == name && t.language == language)
        .filter(|_| !lines.is_empty())
        .map(|t| match ParamFormat::parse(&t.parameter_format) {
            Some(ParamFormat::Named) => Value::Object(
                example_order(&t.body_text(), ParamFormat::Named)
                    .into_iter()
                    .zip(lines.iter().cloned().map(Value::String))
                    .collect::<Map<_, _>>(),
            ),
            _ => Value::Array(lines.iter().cloned().map(Value::String).collect()),
        });
    let req = crate::services::templates::SendTemplateRequest {
        channel_id,
        template_name: name.to_string(),
        language: language.to_string(),
        recipient: recipient.trim().to_string(),
        variables: body.map(|b| crate::services::templates::TemplateVariables {
            body: Some(b),
            ..Default::default()
        }),
    };
    let r = crate::services::templates::send(&state, &me.account_id, &req, None)
        .await
        .rpc()?;
    Ok(super::send_test::TestSent {
        message_id: r.message_id,
        status: r.status,
        meta_message_id: r.meta_message_id,
    })
}

/// *Send a template* under the Send test message box of WhatsApp channels:
/// reaches people outside the 24-hour window.
#[component]
pub fn TemplateTestBox(channel_id: String) -> impl IntoView {
    let action = ServerAction::<SendTestTemplate>::new();
    let id = StoredValue::new(channel_id.clone());
    // Client-side only: this box lives inside the channel page's own
    // Suspend, where a server-rendered resource would be created twice. The
    // list is also only rendered once the page is hydrated: a Transition over
    // a LocalResource hydrated against the server's fallback failed now and
    // then, depending on when the templates request answered, and the
    // hydration panic left the whole channel page dead.
    let templates = LocalResource::new(move || approved_templates(channel_id.clone()));
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <div id="send-template-box" class="mt-6 border-t border-slate-100 pt-4">
            <p class="mb-3 text-sm text-slate-600">
                "Or send an approved template (works outside the 24-hour window), through "
                <code class="rounded bg-slate-100 px-1">"POST /api/v1/messages/send-template"</code>"."
            </p>
            <Show when=move || hydrated.get() fallback=|| view! { <Loading text="Loading templates…"/> }>
            <Transition fallback=|| view! { <Loading text="Loading templates…"/> }>
                {move || {
                    let id = id.get_value();
                    Suspend::new(async move {
                        match templates.await {
                            Err(e) => view! { <p class="text-xs text-slate-500">{error_text(&e)}</p> }.into_any(),
                            Ok(list) if list.is_empty() => view! {
                                <p class="text-xs text-slate-500">"No approved templates yet: create one under Message templates."</p>
                            }.into_any(),
                            Ok(list) => {
                                let hint = list.iter()
                                    .filter(|t| !t.variables.is_empty())
                                    .map(|t| format!("{}: {}", t.label, t.variables.iter().map(|v| format!("{{{{{v}}}}}")).collect::<Vec<_>>().join(", ")))
                                    .collect::<Vec<_>>()
                                    .join(" · ");
                                let options: Vec<(String, String)> = list.into_iter().map(|t| (t.key, t.label)).collect();
                                view! {
                                    <ActionForm action=action attr:id="send-template-form" attr:class="space-y-4">
                                        <input type="hidden" name="channel_id" value=id/>
                                        <div class="grid gap-4 sm:grid-cols-3">
                                            <Field label="Recipient" name="recipient" id="send-template-recipient" placeholder="15550100001" autocomplete="off" required=true/>
                                            <div class="sm:col-span-2">
                                                <Select label="Template" name="template" id="send-template-name" options=options/>
                                            </div>
                                        </div>
                                        <TextArea label="Body values" name="values" id="send-template-values" rows=2 hint=if hint.is_empty() { "One per line, in the order of the variables.".to_string() } else { format!("One per line, in this order. {hint}") }/>
                                        <Button id="send-template" variant=Variant::Secondary pending=action.pending()>"Send template"</Button>
                                    </ActionForm>
                                }.into_any()
                            }
                        }
                    })
                }}
            </Transition>
            </Show>
            <div id="send-template-result" class="mt-3">
                {move || action.value().get().map(|r| match r {
                    Ok(s) => view! {
                        <Alert tone=Tone::Success>{format!("Template {} · message {}", s.status, s.message_id)}</Alert>
                    }.into_any(),
                    Err(e) => view! { <Alert tone=Tone::Danger><span class="error-text">{error_text(&e)}</span></Alert> }.into_any(),
                })}
            </div>
        </div>
    }
}
