//! The sandbox Mailbox: in sandbox mode without SMTP, the signed-in user
//! reads the mail sent to their own address here (and nothing else).

#[cfg(feature = "ssr")]
use crate::web::session::Rpc;
use leptos::prelude::*;
use leptos_meta::Title;

use super::ui::*;
use crate::domain::MailView;

#[server(prefix = "/rpc", endpoint = "mailbox")]
pub async fn mailbox() -> Result<Vec<MailView>, ServerFnError> {
    let me = crate::web::session::current().await?;
    let state = crate::web::session::state()?;
    crate::services::email::mailbox(&state, me.as_ref())
        .await
        .rpc()
}

/// Splits text into plain runs and links so that links in mails can be clicked.
fn linkify(text: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push((false, "\n".to_string()));
        }
        for (j, word) in line.split(' ').enumerate() {
            if j > 0 {
                out.push((false, " ".to_string()));
            }
            out.push((
                word.starts_with("http://") || word.starts_with("https://"),
                word.to_string(),
            ));
        }
    }
    out
}

#[component]
pub fn MailboxPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| mailbox());
    view! {
        <Title text="Mailbox"/>
        <main class="mx-auto max-w-3xl px-4 py-8">
            <div class="mb-6 flex flex-wrap items-center justify-between gap-3">
                <div>
                    <h1 class="text-2xl font-semibold">"Mailbox"</h1>
                    <p class="text-sm text-slate-600">"Mail this sandbox installation sent to you. Without SMTP it goes nowhere else; each person sees only the mail sent to their own address."</p>
                </div>
                <a href="/" class="text-sm font-medium text-brand-600 hover:underline">"Back to the Portal"</a>
            </div>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! {
                            <div class="space-y-3">
                                <Alert tone=Tone::Warning>{error_text(&e)}</Alert>
                                <p class="text-sm text-slate-600">
                                    <a href="/login" class="font-medium text-brand-600 hover:underline">"Log in"</a>
                                    " to read your mail. Locked out of a sandbox installation? The operator can set a new password with "
                                    <code class="rounded bg-slate-100 px-1">"switchboard admin reset-password"</code>"."
                                </p>
                            </div>
                        }.into_any(),
                        Ok(mails) => view! {
                            <div class="space-y-4">
                                {if mails.is_empty() {
                                    view! { <EmptyState title="No mail yet">"Mail appears here right after it is sent."</EmptyState> }.into_any()
                                } else {
                                    view! {
                                        <ul id="mail-list" class="space-y-3">
                                            {mails.into_iter().map(|m| view! { <MailItem mail=m/> }).collect_view()}
                                        </ul>
                                    }.into_any()
                                }}
                            </div>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn MailItem(mail: MailView) -> impl IntoView {
    view! {
        <li class="mail rounded-xl border border-slate-200 bg-white shadow-sm">
            <details>
                <summary class="flex cursor-pointer flex-col gap-1 px-4 py-3 sm:flex-row sm:items-center sm:justify-between">
                    <span class="mail-subject text-sm font-medium text-slate-900">{mail.subject.clone()}</span>
                    <span class="text-xs text-slate-500">{format!("to {} · {}", mail.to, short_time(&mail.created_at))}</span>
                </summary>
                <pre class="mail-body whitespace-pre-wrap break-words border-t border-slate-100 px-4 py-3 font-sans text-sm text-slate-700">
                    {linkify(&mail.body).into_iter().map(|(is_link, text)| if is_link {
                        view! { <a href=text.clone() class="text-brand-600 underline">{text.clone()}</a> }.into_any()
                    } else {
                        text.into_any()
                    }).collect_view()}
                </pre>
            </details>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::linkify;

    #[test]
    fn links_are_found() {
        let parts = linkify("open\nhttps://x.io/a?b=1 now");
        assert!(parts.contains(&(true, "https://x.io/a?b=1".to_string())));
        assert!(parts.contains(&(false, "now".to_string())));
    }
}
