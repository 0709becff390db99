//! The Portal's small component set. Pages compose these; nothing is hand-styled per page.

use leptos::prelude::*;

/// The text of a server function error as the user should read it.
pub fn error_text(e: &ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(msg) => msg.clone(),
        ServerFnError::Request(_) => {
            "the server could not be reached; check your connection and try again".into()
        }
        other => other.to_string(),
    }
}

/// `2026-01-15T10:30:00Z` as `2026-01-15 10:30 UTC`: easier to scan in tables.
pub fn short_time(rfc3339: &str) -> String {
    match rfc3339.split_once('T') {
        Some((date, time)) if time.len() >= 5 => format!("{date} {} UTC", &time[..5]),
        _ => rfc3339.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_time_formats() {
        assert_eq!(
            super::short_time("2026-01-15T10:30:00Z"),
            "2026-01-15 10:30 UTC"
        );
        assert_eq!(super::short_time("never"), "never");
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub enum Tone {
    #[default]
    Neutral,
    Success,
    Warning,
    Danger,
    Info,
}

impl Tone {
    fn alert(self) -> &'static str {
        match self {
            Tone::Neutral => "border-slate-200 bg-slate-50 text-slate-800",
            Tone::Success => "border-emerald-200 bg-emerald-50 text-emerald-900",
            Tone::Warning => "border-amber-200 bg-amber-50 text-amber-900",
            Tone::Danger => "border-red-200 bg-red-50 text-red-900",
            Tone::Info => "border-brand-100 bg-brand-50 text-brand-700",
        }
    }
    fn badge(self) -> &'static str {
        match self {
            Tone::Neutral => "bg-slate-100 text-slate-700 ring-slate-200",
            Tone::Success => "bg-emerald-50 text-emerald-700 ring-emerald-200",
            Tone::Warning => "bg-amber-50 text-amber-800 ring-amber-200",
            Tone::Danger => "bg-red-50 text-red-700 ring-red-200",
            Tone::Info => "bg-brand-50 text-brand-700 ring-brand-100",
        }
    }
}

#[component]
pub fn PageHeader(
    #[prop(into)] title: String,
    #[prop(into, optional)] description: String,
) -> impl IntoView {
    view! {
        <header class="mb-6">
            <h1 class="text-2xl font-semibold tracking-tight text-slate-900">{title}</h1>
            {(!description.is_empty()).then(|| view! { <p class="mt-1 max-w-2xl text-sm text-slate-600">{description.clone()}</p> })}
        </header>
    }
}

#[component]
pub fn Card(#[prop(into, optional)] title: String, children: Children) -> impl IntoView {
    view! {
        <section class="rounded-xl border border-slate-200 bg-white p-5 shadow-sm">
            {(!title.is_empty()).then(|| view! { <h2 class="mb-3 text-base font-semibold text-slate-900">{title.clone()}</h2> })}
            {children()}
        </section>
    }
}

#[component]
pub fn Alert(#[prop(optional)] tone: Tone, children: Children) -> impl IntoView {
    view! {
        <div role="status" class=format!("rounded-lg border px-4 py-3 text-sm {}", tone.alert())>{children()}</div>
    }
}

#[component]
pub fn Badge(#[prop(optional)] tone: Tone, #[prop(into)] text: String) -> impl IntoView {
    view! {
        <span class=format!("inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset {}", tone.badge())>{text}</span>
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub enum Variant {
    #[default]
    Primary,
    Secondary,
    Danger,
}

pub fn button_class(v: Variant) -> &'static str {
    match v {
        Variant::Primary => {
            "inline-flex items-center justify-center gap-2 rounded-lg bg-brand-600 px-4 py-2 text-sm font-medium text-white shadow-sm hover:bg-brand-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500 focus-visible:ring-offset-2 disabled:opacity-50"
        }
        Variant::Secondary => {
            "inline-flex items-center justify-center gap-2 rounded-lg border border-slate-300 bg-white px-4 py-2 text-sm font-medium text-slate-800 shadow-sm hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500 focus-visible:ring-offset-2 disabled:opacity-50"
        }
        Variant::Danger => {
            "inline-flex items-center justify-center gap-2 rounded-lg border border-red-200 bg-white px-3 py-1.5 text-sm font-medium text-red-700 hover:bg-red-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-red-500 focus-visible:ring-offset-2 disabled:opacity-50"
        }
    }
}

#[component]
pub fn Button(
    #[prop(optional)] variant: Variant,
    #[prop(into, optional)] id: String,
    #[prop(into, optional)] pending: Signal<bool>,
    children: Children,
) -> impl IntoView {
    view! {
        <button type="submit" id=(!id.is_empty()).then_some(id) class=button_class(variant) disabled=move || pending.get()>
            {children()}
        </button>
    }
}

/// A labelled input. `name` is also the form field the server function receives.
#[component]
pub fn Field(
    #[prop(into)] label: String,
    #[prop(into)] name: String,
    #[prop(into, default = "text".to_string())] kind: String,
    #[prop(into, optional)] id: String,
    #[prop(into, optional)] value: String,
    #[prop(into, optional)] placeholder: String,
    #[prop(into, optional)] autocomplete: String,
    #[prop(into, optional)] hint: String,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    let id = if id.is_empty() {
        format!("f-{name}")
    } else {
        id
    };
    view! {
        <div class="space-y-1">
            <label for=id.clone() class="block text-sm font-medium text-slate-700">{label}</label>
            <input
                id=id
                name=name
                type=kind
                value=value
                placeholder=placeholder
                autocomplete=(!autocomplete.is_empty()).then_some(autocomplete)
                required=required
                class="block w-full rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900 shadow-sm placeholder:text-slate-400 focus:border-brand-500 focus:outline-none focus:ring-2 focus:ring-brand-500/30"
            />
            {(!hint.is_empty()).then(|| view! { <p class="text-xs text-slate-500">{hint.clone()}</p> })}
        </div>
    }
}

/// A labelled multi-line input. `name` is also the form field the server function receives.
#[component]
pub fn TextArea(
    #[prop(into)] label: String,
    #[prop(into)] name: String,
    #[prop(into, optional)] id: String,
    #[prop(into, optional)] value: String,
    #[prop(into, optional)] placeholder: String,
    #[prop(into, optional)] hint: String,
    #[prop(default = 4)] rows: u32,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    let id = if id.is_empty() {
        format!("f-{name}")
    } else {
        id
    };
    view! {
        <div class="space-y-1">
            <label for=id.clone() class="block text-sm font-medium text-slate-700">{label}</label>
            <textarea
                id=id
                name=name
                rows=rows
                placeholder=placeholder
                required=required
                class="block w-full rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900 shadow-sm placeholder:text-slate-400 focus:border-brand-500 focus:outline-none focus:ring-2 focus:ring-brand-500/30"
            >{value}</textarea>
            {(!hint.is_empty()).then(|| view! { <p class="text-xs text-slate-500">{hint.clone()}</p> })}
        </div>
    }
}

/// A labelled drop-down. `options` are `(value, text)`; `selected` is a value.
#[component]
pub fn Select(
    #[prop(into)] label: String,
    #[prop(into)] name: String,
    #[prop(into, optional)] id: String,
    options: Vec<(String, String)>,
    #[prop(into, optional)] selected: String,
) -> impl IntoView {
    let id = if id.is_empty() {
        format!("f-{name}")
    } else {
        id
    };
    view! {
        <div class="space-y-1">
            <label for=id.clone() class="block text-sm font-medium text-slate-700">{label}</label>
            <select
                id=id
                name=name
                class="block w-full rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900 shadow-sm focus:border-brand-500 focus:outline-none focus:ring-2 focus:ring-brand-500/30"
            >
                {options.into_iter().map(|(value, text)| {
                    let on = value == selected;
                    view! { <option value=value selected=on>{text}</option> }
                }).collect_view()}
            </select>
        </div>
    }
}

#[component]
pub fn Loading(#[prop(into, default = "Loading…".to_string())] text: String) -> impl IntoView {
    view! {
        <div class="flex items-center gap-2 py-6 text-sm text-slate-500" aria-busy="true">
            <span class="h-4 w-4 animate-spin rounded-full border-2 border-slate-300 border-t-brand-600"></span>
            {text}
        </div>
    }
}

#[component]
pub fn EmptyState(#[prop(into)] title: String, children: Children) -> impl IntoView {
    view! {
        <div class="rounded-lg border border-dashed border-slate-300 px-6 py-8 text-center">
            <p class="text-sm font-medium text-slate-800">{title}</p>
            <div class="mt-1 text-sm text-slate-500">{children()}</div>
        </div>
    }
}

/// Shows the outcome of a server action: nothing while idle, the API's detail on error.
#[component]
pub fn ActionResult<T: Clone + Send + Sync + 'static>(
    value: Signal<Option<Result<T, ServerFnError>>>,
    #[prop(into, optional)] success: String,
) -> impl IntoView {
    move || {
        match value.get() {
        None => None,
        Some(Ok(_)) if success.is_empty() => None,
        Some(Ok(_)) => {
            let text = success.clone();
            Some(view! { <Alert tone=Tone::Success>{text}</Alert> }.into_any())
        }
        Some(Err(e)) => Some(view! { <Alert tone=Tone::Danger><span class="error-text">{error_text(&e)}</span></Alert> }.into_any()),
    }
    }
}

/// A destructive action behind a second, explicit click. A disclosure rather than
/// a modal: it works before hydration and with the keyboard (Enter/Space, Tab).
/// `children` holds the form whose submit button carries out the action.
#[component]
pub fn Confirm(
    /// Visible text of the first button.
    #[prop(into)]
    text: String,
    /// Accessible name of the first button, e.g. "Revoke ci key".
    #[prop(into)]
    label: String,
    #[prop(into)] question: String,
    children: Children,
) -> impl IntoView {
    let dialog_label = question.clone();
    view! {
        <details class="relative inline-block text-left">
            <summary role="button" aria-label=label class=format!("{} cursor-pointer list-none", button_class(Variant::Danger))>{text}</summary>
            <div role="dialog" aria-label=dialog_label class="absolute right-0 z-10 mt-2 w-64 rounded-xl border border-slate-200 bg-white p-3 text-left shadow-lg">
                <p class="mb-3 text-sm text-slate-700">{question}</p>
                {children()}
            </div>
        </details>
    }
}

/// A read-only value with a copy button; the value stays selectable without JavaScript.
#[component]
pub fn CopyField(#[prop(into)] value: String, #[prop(into)] id: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let v = value.clone();
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let text = v.clone();
            let nav = window().navigator();
            let _ = nav.clipboard().write_text(&text);
            copied.set(true);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &v;
    };
    view! {
        <div class="flex flex-col gap-2 sm:flex-row">
            <input id=id readonly value=value class="min-w-0 flex-1 rounded-lg border border-slate-300 bg-slate-50 px-3 py-2 font-mono text-sm text-slate-900" on:focus=|ev| {
                #[cfg(feature = "hydrate")]
                {
                    use wasm_bindgen::JsCast;
                    if let Some(t) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) { t.select(); }
                }
                #[cfg(not(feature = "hydrate"))]
                let _ = ev;
            }/>
            <button type="button" class=button_class(Variant::Secondary) on:click=copy>
                {move || if copied.get() { "Copied" } else { "Copy" }}
            </button>
        </div>
    }
}
