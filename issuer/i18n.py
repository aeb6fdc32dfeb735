"""The demo's words in Japanese and English, and each refusal reason in plain words.

A user who is refused data must be told why in words they understand, not a code; the code
stays visible next to it for support and scripts.  Words that name the company say ``{app}``:
:func:`t` and :func:`reason` fill in the name of the app being served (Kakeibo, Hoken ...), and
its one-line description comes from its :class:`issuer.IssuerConfig` (``tagline``).
"""

from __future__ import annotations

__all__ = ["LANGS", "REASONS", "TEXTS", "reason", "t"]

LANGS = ("ja", "en")

TEXTS: dict[str, dict[str, str]] = {
    "app_name": {"ja": "{app}", "en": "{app}"},
    "nav_home": {"ja": "ホーム", "en": "Home"},
    "nav_consents": {"ja": "同意と受領記録", "en": "Consents and records"},
    "lang_switch": {"ja": "English", "en": "日本語"},
    "account": {"ja": "あなたの{app}アカウント", "en": "Your {app} account"},
    "connect_title": {"ja": "銀行の明細を取り込む", "en": "Import your bank transactions"},
    "connect_lead": {"ja": "CopyMe ボタンを押すか、QRコードをウォレットで読み取ってください。何を渡すかは、ウォレットで項目ごとに選べます。",
                     "en": "Press the CopyMe button or scan the QR code with your wallet. You choose item by item what to share."},
    "button": {"ja": "CopyMe で同意する", "en": "Consent with CopyMe"},
    "qr_label": {"ja": "CopyMe 同意リクエストのQRコード", "en": "QR code of the CopyMe consent request"},
    "deep_link": {"ja": "ウォレットアプリ用リンク", "en": "Link for a wallet app"},
    "asks_for": {"ja": "お願いする情報", "en": "What we ask for"},
    "required": {"ja": "必須", "en": "required"},
    "optional": {"ja": "任意", "en": "optional"},
    "purpose": {"ja": "利用目的", "en": "Purpose"},
    "from_holder": {"ja": "提供元", "en": "From"},
    "consents_title": {"ja": "{app}が持っている同意", "en": "Consents {app} holds"},
    "no_consents": {"ja": "まだ同意はありません。", "en": "No consent yet."},
    "consent_id": {"ja": "同意ID", "en": "Consent id"},
    "items": {"ja": "項目", "en": "Items"},
    "state": {"ja": "状態", "en": "State"},
    "received": {"ja": "受け取った日時", "en": "Received"},
    "expires": {"ja": "有効期限", "en": "Valid until"},
    "refresh": {"ja": "状態を確認する", "en": "Check state now"},
    "fetch_button": {"ja": "銀行のデータを取り込む", "en": "Fetch my bank data"},
    "fetch_ok": {"ja": "銀行からデータを受け取りました。", "en": "Your bank sent your data."},
    "fetch_refused": {"ja": "データを受け取れませんでした", "en": "We could not get your data"},
    "reason_code": {"ja": "理由コード", "en": "Reason code"},
    "records_title": {"ja": "受領記録（個人情報保護法）", "en": "Recipient records (APPI)"},
    "update_lead": {"ja": "かけいぼから、同意の内容の変更（または更新）のお願いがあります。ウォレットで違いを確認してください。",
                    "en": "Kakeibo asks you to update (or renew) your consent. Your wallet shows what changes."},
    "update_button": {"ja": "ウォレットで新しい内容を確認する", "en": "Review the new terms in your wallet"},
    "declined_title": {"ja": "断られた依頼", "en": "Requests the user declined"},
    "declined_at": {"ja": "ウォレットから「同意しない」の通知（署名付き）：", "en": "Signed \"no\" from the wallet:"},
    "copied_title": {"ja": "銀行から取り込んだデータ", "en": "Data copied from the bank"},
    "copied_none": {"ja": "取り込んだデータは保存されていません。", "en": "No copied data is kept."},
    "copied_at": {"ja": "取り込み日時", "en": "Copied"},
    "rights_title": {"ja": "利用停止・消去の請求（個人情報保護法35条）",
                     "en": "Requests to stop use or erase (APPI Art. 35)"},
    "rights_none": {"ja": "請求はありません。", "en": "No requests."},
    "rights_kind_stop_use": {"ja": "利用停止", "en": "Stop use"},
    "rights_kind_erase": {"ja": "消去", "en": "Erase"},
    "rights_kind_both": {"ja": "利用停止と消去", "en": "Stop use and erase"},
    "rights_state_pending": {"ja": "対応待ち", "en": "Pending"},
    "rights_state_overdue": {"ja": "期限超過", "en": "Overdue"},
    "rights_state_done": {"ja": "完了（署名付きで通知済み）", "en": "Done (signed notice sent)"},
    "rights_due": {"ja": "期限", "en": "Due"},
    "rights_kind": {"ja": "請求の内容", "en": "Request"},
    "rights_complete": {"ja": "削除を実行して完了を通知", "en": "Run the deletion and send the completion"},
    "rights_erased": {"ja": "消去したもの", "en": "Erased"},
    "records_unit": {"ja": "件", "en": "records"},
    "records_csv": {"ja": "CSVで書き出す", "en": "Export as CSV"},
    "no_records": {"ja": "受領記録はまだありません。", "en": "No data received yet."},
    "date": {"ja": "受領年月日", "en": "Date"},
    "provider": {"ja": "提供者", "en": "Provider"},
    "acquisition": {"ja": "提供者による取得の経緯", "en": "How the provider acquired it"},
    "obtained_by": {"ja": "本人の同意", "en": "Person's consent"},
    "by_consent": {"ja": "同意を得ている", "en": "consent obtained"},
    "representative": {"ja": "代表者", "en": "Representative"},
    "not_recorded": {"ja": "記録なし", "en": "not recorded"},
    "all_accounts": {"ja": "全アカウントを表示", "en": "Show all accounts"},
    "back": {"ja": "戻る", "en": "Back"},
    "holder_down_button": {"ja": "いまデータの提供元につながらないため、CopyMe ボタンを用意できません。少し待ってから、このページを開き直してください。",
                           "en": "The data holder cannot be reached right now, so the CopyMe button cannot be prepared. "
                                 "Please reload this page in a little while."},
    "already": {"ja": "このアカウントはすでに同意を受け取っています。", "en": "This account already holds a consent."},
    "state_valid": {"ja": "有効", "en": "valid"},
    "state_revoked": {"ja": "撤回済み", "en": "revoked"},
    "state_suspended": {"ja": "一時停止中", "en": "suspended"},
    "state_expired": {"ja": "期限切れ", "en": "expired"},
    "state_invalid": {"ja": "無効", "en": "invalid"},
    "state_unknown": {"ja": "不明", "en": "unknown"},
    "value": {"ja": "値", "en": "Value"},
    "item": {"ja": "項目", "en": "Item"},
    "col_date": {"ja": "日付", "en": "Date"},
    "col_description": {"ja": "内容", "en": "Description"},
    "col_amount": {"ja": "金額", "en": "Amount"},
    "col_balance": {"ja": "残高", "en": "Balance"},
}

REASONS: dict[str, dict[str, str]] = {
    "revoked": {"ja": "あなたがこの同意を撤回したため、銀行はデータを渡しませんでした。",
                "en": "You revoked this consent, so the bank did not release any data."},
    "suspended": {"ja": "あなたがこの同意を一時停止しているため、銀行はデータを渡しませんでした。再開すれば取り込めます。",
                  "en": "You paused this consent, so the bank did not release any data. Resume it to continue."},
    "expired": {"ja": "同意の有効期限が切れています。もう一度同意してください。",
                "en": "The consent has expired. Please consent again."},
    "not_yet_valid": {"ja": "同意の有効期間がまだ始まっていません。", "en": "The consent is not valid yet."},
    "items_not_granted": {"ja": "同意していない項目が含まれていました。", "en": "We asked for items you did not agree to share."},
    "purpose_not_granted": {"ja": "同意していない目的でした。", "en": "We asked for a purpose you did not agree to."},
    "not_linked": {"ja": "銀行があなたのウォレットを確認できません。まず銀行とウォレットを連携してください。",
                   "en": "The bank does not know your wallet yet. Link your wallet with your bank first."},
    "status_unavailable": {"ja": "同意の状態を確認できなかったため、銀行は安全のためデータを渡しませんでした。",
                           "en": "The consent's state could not be checked, so the bank safely refused."},
    "status_invalid": {"ja": "同意の状態を示す情報が信頼できないため、データは渡されませんでした。",
                       "en": "The consent's status information could not be trusted, so nothing was released."},
    "unavailable": {"ja": "銀行に接続できませんでした。しばらくしてからもう一度お試しください。",
                    "en": "We could not reach the bank. Please try again later."},
    "not_found": {"ja": "このアカウントにはまだ同意がありません。", "en": "This account holds no consent yet."},
    "replayed": {"ja": "同じ要求が二度使われたため拒否されました。もう一度お試しください。",
                 "en": "The request was refused as a repeat. Please try again."},
    "wrong_audience": {"ja": "この同意は別の銀行宛てです。", "en": "This consent is addressed to another bank."},
    "not_subject": {"ja": "この同意は{app}宛てではありません。", "en": "This consent was not given to {app}."},
    "bad_signature": {"ja": "署名が正しくありません。", "en": "A signature did not verify."},
}


def t(key: str, lang: str, app: str = "") -> str:
    """The text ``key`` in ``lang`` (Japanese if unknown), naming the company ``app``."""
    entry = TEXTS.get(key)
    if entry is None:
        return key
    return (entry.get(lang) or entry["ja"]).replace("{app}", app)


def reason(code: str, lang: str, app: str = "") -> str:
    """A refusal reason in plain words, naming the company ``app``."""
    entry = REASONS.get(code)
    if entry is None:
        return {"ja": "データを受け取れませんでした。", "en": "The data could not be fetched."}.get(lang, "")
    return (entry.get(lang) or entry["ja"]).replace("{app}", app)
