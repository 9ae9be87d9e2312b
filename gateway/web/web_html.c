/*
 * web_html.c - HTML for the dashboard: escaping, the one table of labels
 * (English and Japanese), the language choice, the page frame and the
 * style sheet compiled into the program.
 *
 * Every value a page shows goes through web_put_html (or web_put_url
 * inside a link): store rows are outside input, a partner chooses its
 * MessageIds and reasons.  Pages work without JavaScript; none is sent.
 *
 * Ownership: labels and the style sheet are static.  Threads: any (no
 * state).  Failures: the icx_buf's (ICX_EFULL past its bound, ICX_ENOMEM).
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "web_int.h"

/* One row per label: key, English, Japanese.  Pages name keys only. */
static const struct label {
    const char *key, *en, *ja;
} labels[] = {
    {"title", "ICX gateway", "ICX ゲートウェイ"},
    {"overview", "Overview", "概要"},
    {"messages", "Messages", "メッセージ"},
    {"message", "Message", "メッセージ"},
    {"partners", "Partners", "相手機関"},
    {"lists", "Lists", "リスト"},
    {"surveys", "Surveys", "調査"},
    {"audit", "Audit", "監査"},
    {"metrics", "Metrics", "メトリクス"},
    {"outbound", "Outbound", "送信"},
    {"inbound", "Inbound", "受信"},
    {"message_id", "MessageId", "メッセージID"},
    {"state", "State", "状態"},
    {"partner", "Partner", "相手機関"},
    {"recipient", "Recipient", "受信者"},
    {"sender", "Sender", "送信者"},
    {"hop", "Next hop", "次の中継先"},
    {"category", "Category", "種別"},
    {"attempts", "Attempts", "試行回数"},
    {"created", "Created", "作成"},
    {"received", "Received", "受信日時"},
    {"next_attempt", "Next attempt", "次回試行"},
    {"reason", "Reason", "理由"},
    {"case_ref", "Case reference", "事件番号"},
    {"id_prefix", "MessageId prefix", "メッセージIDの先頭"},
    {"any", "any", "すべて"},
    {"search", "Search", "検索"},
    {"timeline", "Timeline", "経過"},
    {"receipts", "Receipts", "受領証"},
    {"time", "Time", "日時"},
    {"event", "Event", "事象"},
    {"detail", "Detail", "詳細"},
    {"issuer", "Issuer", "発行者"},
    {"positive", "positive", "受領"},
    {"negative", "negative", "拒否"},
    {"final", "final", "最終"},
    {"hop_receipt", "hop", "中継"},
    {"connected", "Connected", "接続"},
    {"yes", "yes", "はい"},
    {"no", "no", "いいえ"},
    {"adapter", "Adapter", "アダプタ"},
    {"route", "Route", "経路"},
    {"queue", "Queue", "送信待ち"},
    {"oldest", "Oldest undelivered", "最古の未配達"},
    {"last_contact", "Last contact", "最終接続"},
    {"retry", "Retry schedule", "再送間隔"},
    {"retry_fmt", "first after %ld s, then up to %ld s, gives up after %ld s",
     "初回 %ld 秒後、以後最大 %ld 秒ごと、%ld 秒で断念"},
    {"list", "List", "リスト"},
    {"serial", "Serial", "版番号"},
    {"holds", "Partner holds", "相手の版"},
    {"lag", "Lag", "遅れ"},
    {"last_pull", "Last pull", "最終取得"},
    {"last_answer", "Last answer", "最終応答"},
    {"no_lists", "This gateway publishes no lists.",
     "このゲートウェイが配布するリストはありません。"},
    {"survey", "Survey", "調査"},
    {"round", "Round", "回"},
    {"deadline", "Deadline", "期限"},
    {"answered", "answered", "回答済み"},
    {"late", "late", "期限超過"},
    {"waiting", "waiting", "回答待ち"},
    {"rejected", "rejected", "不備"},
    {"no_surveys", "No survey has been sent from this gateway.",
     "このゲートウェイから送った調査はありません。"},
    {"chain_head", "Chain head", "チェーンの先頭"},
    {"records", "Records", "記録数"},
    {"root", "Tree root", "ツリーの根"},
    {"last_checkpoint", "Last signed checkpoint", "最新の署名付きチェックポイント"},
    {"covers", "Covers records", "対象記録数"},
    {"since_checkpoint", "Records since", "以後の記録数"},
    {"verify", "Verification", "検証"},
    {"verify_ok", "chain verified", "チェーン検証済み"},
    {"verify_bad", "DAMAGED", "破損"},
    {"none", "none", "なし"},
    {"started", "Daemon started", "起動日時"},
    {"gateway", "Gateway", "ゲートウェイ"},
    {"not_found", "Not found", "見つかりません"},
    {"no_message", "No message with this id in this gateway's store.",
     "このIDのメッセージはありません。"},
    {"shown", "Newest first, at most", "新しい順、最大"},
    {"read_only", "Read-only view; refreshed on reload.",
     "閲覧専用。再読み込みで更新。"},
    {"lang_other", "日本語", "English"},
};

const char *web_label(int lang, const char *key)
{
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
        if (strcmp(labels[i].key, key) == 0)
            return lang == WEB_JA ? labels[i].ja : labels[i].en;
    assert(!"web_label: unknown key");
    return key;
}

int web_lang_pick(const char *q, const char *accept)
{
    if (q != NULL)
        return strcmp(q, "ja") == 0 ? WEB_JA : WEB_EN;
    /* The first of "ja" or "en" the browser names wins (q-values aside:
     * browsers list languages in their order of preference). */
    for (const char *p = accept; p != NULL && *p != '\0';) {
        p += strspn(p, " ,");
        if (strncmp(p, "ja", 2) == 0 && (p[2] == '\0' || strchr(",;- ", p[2])))
            return WEB_JA;
        if (strncmp(p, "en", 2) == 0 && (p[2] == '\0' || strchr(",;- ", p[2])))
            return WEB_EN;
        p = strchr(p, ',');
    }
    return WEB_EN;
}

int web_put_html_n(icx_buf *b, const char *s, size_t n)
{
    int rc = ICX_OK;
    for (size_t i = 0; s != NULL && i < n && s[i] != '\0' && rc == ICX_OK;
         i++) {
        switch (s[i]) {
        case '&': rc = icx_buf_puts(b, "&amp;"); break;
        case '<': rc = icx_buf_puts(b, "&lt;"); break;
        case '>': rc = icx_buf_puts(b, "&gt;"); break;
        case '"': rc = icx_buf_puts(b, "&quot;"); break;
        case '\'': rc = icx_buf_puts(b, "&#39;"); break;
        default:
            /* Control characters never reach the page. */
            if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
                rc = icx_buf_puts(b, "\xef\xbf\xbd");
            else
                rc = icx_buf_append(b, s + i, 1);
        }
    }
    return rc;
}

int web_put_html(icx_buf *b, const char *s)
{
    return s == NULL ? ICX_OK : web_put_html_n(b, s, strlen(s));
}

int web_put_url(icx_buf *b, const char *s)
{
    int rc = ICX_OK;
    for (const char *p = s; p != NULL && *p != '\0' && rc == ICX_OK; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || strchr("-._~", c))
            rc = icx_buf_append(b, p, 1);
        else
            rc = icx_buf_printf(b, "%%%02X", c);
    }
    return rc;
}

void web_time(char *out, size_t len, int64_t t)
{
    if (t <= 0)
        snprintf(out, len, "-");
    else
        icx_time_format(out, len, (time_t)t);
}

const char web_css[] =
    "body{font-family:system-ui,'Noto Sans CJK JP',sans-serif;margin:0;"
    "color:#1b1f24;background:#f6f7f9}\n"
    "header{background:#1f3a5f;color:#fff;padding:.6em 1em;display:flex;"
    "flex-wrap:wrap;align-items:center;gap:1em}\n"
    "header a{color:#fff;text-decoration:none;padding:.2em .5em;"
    "border-radius:3px}\n"
    "header a.here{background:#3d6599}\n"
    "header .gw{font-weight:bold;margin-right:1em}\n"
    "header .lang{margin-left:auto}\n"
    "main{padding:1em}\n"
    "table{border-collapse:collapse;background:#fff;margin:.5em 0 1.5em;"
    "font-size:.9em}\n"
    "th,td{border:1px solid #d0d5dc;padding:.25em .6em;text-align:left;"
    "vertical-align:top}\n"
    "th{background:#e8ecf1}\n"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    "code,.mono{font-family:ui-monospace,monospace;font-size:.95em}\n"
    ".s-delivered,.s-accepted,.ok{color:#17663a}\n"
    ".s-failed,.s-refused,.s-rejected,.bad{color:#a3161a;font-weight:bold}\n"
    ".s-queued,.s-sent,.warn{color:#8a5a00}\n"
    "form{background:#fff;border:1px solid #d0d5dc;padding:.6em;"
    "display:flex;flex-wrap:wrap;gap:.8em;align-items:end}\n"
    "form label{display:flex;flex-direction:column;font-size:.85em}\n"
    "footer{color:#5b6470;font-size:.8em;padding:0 1em 1em}\n";

static const struct {
    const char *path, *key;
} nav[] = {
    {"/", "overview"},       {"/messages", "messages"},
    {"/partners", "partners"}, {"/lists", "lists"},
    {"/surveys", "surveys"}, {"/audit", "audit"},
};

int web_page_begin(icx_buf *b, const web_view *v, const char *title_key,
                   const char *self)
{
    int L = v->lang;
    const char *gw = v->live->have ? v->live->live.id : "";
    icx_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n"
                   "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
                   "content=\"width=device-width, initial-scale=1\">\n<title>",
                   L == WEB_JA ? "ja" : "en");
    web_put_html(b, web_label(L, title_key));
    icx_buf_puts(b, " - ");
    web_put_html(b, gw);
    icx_buf_puts(b, "</title>\n<link rel=\"stylesheet\" "
                    "href=\"/static/icx.css\">\n</head>\n<body>\n<header>"
                    "<span class=\"gw\">");
    web_put_html(b, web_label(L, "title"));
    icx_buf_puts(b, " ");
    web_put_html(b, gw);
    icx_buf_puts(b, "</span>\n");
    for (size_t i = 0; i < sizeof nav / sizeof nav[0]; i++) {
        icx_buf_printf(b, "<a href=\"%s?lang=%s\"%s>", nav[i].path,
                       L == WEB_JA ? "ja" : "en",
                       strcmp(nav[i].path, self) == 0 ? " class=\"here\"" : "");
        web_put_html(b, web_label(L, nav[i].key));
        icx_buf_puts(b, "</a>\n");
    }
    icx_buf_printf(b, "<a href=\"/metrics\">%s</a>\n",
                   web_label(L, "metrics"));
    icx_buf_printf(b, "<a class=\"lang\" href=\"%s?lang=%s\">", self,
                   L == WEB_JA ? "en" : "ja");
    web_put_html(b, web_label(L, "lang_other"));
    icx_buf_puts(b, "</a>\n</header>\n<main>\n<h1>");
    web_put_html(b, web_label(L, title_key));
    return icx_buf_puts(b, "</h1>\n");
}

int web_page_end(icx_buf *b, const web_view *v)
{
    char at[32];
    web_time(at, sizeof at, v->now);
    icx_buf_puts(b, "</main>\n<footer>");
    web_put_html(b, web_label(v->lang, "read_only"));
    icx_buf_printf(b, " %s</footer>\n</body>\n</html>\n", at);
    return b->len > 0 && b->data != NULL ? ICX_OK : ICX_ENOMEM;
}
