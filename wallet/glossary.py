"""Every word the wallet shows a person, one table per language (``ja``, ``en``).

The dashboard's pages, the CLI's rendering, what a replacement request changes (:data:`CHANGES`)
and the texts for reason codes all read from here,
so one state has one name everywhere (一時停止中, never also 停止中) and a new page cannot
invent a second word for the same thing.  Add a word to *both* languages; the tests check that
the tables have the same keys, that every reason code of every party has a text in each
language, and that the Japanese texts contain no English sentence.

Developer material (DIDs, hashes, ids, list indexes, raw reason codes and error details) is
not translated: the pages put it inside a collapsed 技術情報 / Technical details section.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["CHANGES", "LANGS", "NOTES", "PULL_PROBLEMS", "REASONS", "REFUSALS", "STATES", "pull_problem", "reason",
           "refusal", "state", "words"]

#: The languages the wallet speaks; the first one is the default.
LANGS = ("ja", "en")

_JA: dict[str, str] = {
    # frame
    "app": "CopyMe ウォレット", "nav_consents": "同意の一覧", "switch": "English", "skip": "本文へ移動",
    "tech": "技術情報", "sep": "、",
    # the request, before deciding
    "review_title": "同意の依頼", "requester": "依頼者", "holder": "データの提供元",
    "verified": "確認済み（トラストリスト）",
    "unverified": "未確認の依頼者です。表示名は依頼者の自己申告で、誰も保証していません。",
    "points": "要点", "data_items": "渡すデータ", "required": "必須", "optional": "任意",
    "required_help": "必須の項目は外せません。任意の項目は、選んだものだけが渡されます。",
    "purposes": "利用目的", "retention": "保存期間", "days": "日", "onward": "第三者への再提供",
    "onward_yes": "あり：ほかの会社にも渡されます", "onward_no": "なし",
    "validity": "同意の有効期間", "answer_by": "回答期限", "terms": "規約全文",
    "accept": "選んだ項目で同意する", "decline": "同意しない",
    "decided_accepted": "この依頼にはすでに同意しています。", "decided_declined": "この依頼はすでに断りました。",
    "see_consent": "同意を見る", "decision": "決定", "yes": "あり", "no": "なし",
    "requester_did": "依頼者のDID", "holder_did": "データの提供元のDID", "terms_hash": "規約のハッシュ（SHA-256）",
    "request_id": "依頼のID",
    # after deciding
    "accepted_title": "同意しました", "accepted_lead": "同意書に署名して、依頼者に渡しました。",
    "undelivered": "依頼者に届けられませんでした。同意はウォレットに保存されています。",
    "retry": "もう一度届ける", "back_to": "に戻る", "back_to_requester": "依頼者のページに戻る",
    "declined_title": "同意しませんでした",
    "declined_lead": "データは何も渡していません。依頼者には「同意しない」とだけ伝えました（あなたを特定できる情報は送っていません）。",
    "declined_unnotified": "依頼者に「同意しない」を伝えられませんでした（つながりませんでした）。データは何も渡していません。",
    # the list
    "list_title": "あなたの同意", "none": "まだ同意はありません。",
    "granted": "渡すデータ", "until": "有効期限", "state": "状態", "details": "詳細",
    "pending": "未反映", "pending_help": "変更はまだレジストリに届いていません。",
    "sync": "今すぐレジストリに送る", "synced": "レジストリに送りました。",
    "sync_failed": "まだ送れません", "nothing_pending": "未反映の変更はありません。",
    "delivered_no": "未送達", "id": "ID", "no_consents": "（同意はありません）",
    "delivered": "依頼者への送達", "delivered_yes": "送達済み",
    # signed usage receipts
    "receipts_lead": "{holder}が署名した記録です。データを渡したときも、断ったときも残ります。",
    "receipt_released": "{who}にデータが渡されました", "receipt_refused": "{who}が試みました — {why}",
    "receipt_no": "この同意で{n}件目",
    "pull": "今すぐ記録を取り寄せる", "pulled": "データの提供元から記録を取り寄せました。",
    "pull_failed": "記録を取り寄せられませんでした。",
    "receipt_warning": "{holder}からの記録に問題があります：{why}",
    "data_user": "データ利用者", "holder_no": "提供元の記録番号", "data_used": "使われたデータ",
    # one consent
    "detail_title": "同意の詳細", "shown": "同意したときに表示された内容",
    "shown_lang": "表示言語", "not_granted": "渡していない", "history": "状態の履歴",
    "at": "日時", "reached": "レジストリに反映", "receipts": "データが使われた記録・断られた記録",
    "no_receipts": "まだ記録はありません。", "recipient": "受け取った会社", "purpose": "目的",
    "source": "記録元", "ids": "識別子", "consent_id": "同意のID",
    "status_list": "状態リストと番号", "issued": "同意した日時", "list_iat": "リストの発行時刻",
    "credential": "同意書（base64url）", "source_manual": "手入力",
    "change": "変更する", "suspend": "一時停止する", "resume": "再開する", "revoke": "撤回する",
    "revoke_confirm": "撤回は取り消せないことを理解しました",
    "suspend_help": "一時停止中は、データの提供が断られます。いつでも再開できます。",
    "revoke_help": "撤回すると、この同意は二度と使えません。",
    "changed_ok": "レジストリに反映されました", "changed_pending": "保存しましたが、まだレジストリに届いていません",
    "done_active": "再開しました", "done_suspended": "一時停止しました", "done_revoked": "撤回しました",
    # errors
    "error_title": "できませんでした", "error_code": "理由コード", "error_detail": "詳しい内容",
    "back_home": "一覧に戻る", "reason_unknown": "予期しない理由で、できませんでした。",
    # sign in
    "login_title": "ウォレットを開く",
    "login_lead": "このウォレットは、あなたのパソコンの中だけで動いています。"
                  "まだ開かれていないので、あなたの同意は表示できません。",
    "login_how": "CopyMe を起動したときに表示された「ウォレットを開く」リンクから、もう一度開いてください。"
                 "リンクは一度だけ、10分間使えます。鍵を受け取っている場合は、下に貼り付けてください。",
    "login_commands": "新しいリンクを作るコマンド",
    "key": "一回限りの鍵", "open": "開く", "wrong_key": "鍵が違うか、使用済みか、期限切れです。",
    # the CLI
    "phrase": "復元フレーズです。この24語を順番どおり紙に書き写し、安全な場所に保管してください。"
              "この語（とバックアップファイル）があれば、別のパソコンで「copyme wallet recover」により"
              "このウォレットを復元できます。知った人は誰でもあなたになりすませます。表示は今回だけです。",
    # time in plain words, shortening, the trust badge
    "validity_plain": "同意した日から{days}日間（{date}まで）、{company}は{holder}からあなたのデータを受け取れます。",
    "retention_plain": "{company}は、受け取ったデータを受け取ってから{days}日以内に削除します。",
    "revoke_plain": "撤回すると、それから先の受け取りはすべて断られます。すでに渡したデータは自動では消えません。"
                    "消してほしいときは、{company}に削除を求めてください。",
    "onward_plain_yes": "{company}は、受け取ったデータをほかの会社にも渡します。",
    "onward_plain_no": "{company}は、受け取ったデータをほかの会社に渡しません。",
    "when_title": "いつまで、どうなるか", "shorten": "同意の有効期間", "days_option": "{days}日間",
    "days_option_max": "{days}日間（依頼どおり）", "shorten_help": "短くすると、その日が来た時点で受け取れなくなります。",
    "verified_by": "{council}が確認済み", "about_mark": "この ✔ について",
    "about_mark_text": "{council}は、会社の名前と署名の鍵を確かめて、トラストリストに載せています。"
                       "この依頼が本当に{company}からのものであることを、{council}が保証しています。",
    "how_listed": "会社は{council}に申請し、名前と鍵の審査を受けるとリストに載ります。"
                  "載っていない会社の依頼には、赤い「未確認」の警告が出ます。",
    "council_default": "トラストリストの発行者",
    # the list, who has my data, what is new
    "nav_who": "データを持つ会社", "who_title": "あなたのデータを持っている会社",
    "who_lead": "会社ごとに、受け取ったデータとその日時、今も受け取れるかどうかを示します。",
    "who_may_fetch": "今もデータを受け取れます", "who_may_not_fetch": "もう受け取れません",
    "who_received": "受け取ったデータ", "who_nothing_yet": "まだ何も受け取っていません",
    "last_use": "最後に使われた日", "never_used": "まだ使われていません", "given": "同意した日",
    "outcome": "結果", "outcome_refused": "断りました", "outcome_released": "渡しました",
    "ended_revoked": "撤回した日", "ended_expired": "終わった日",
    "filter_state": "状態", "filter_all": "すべて", "search": "会社名やデータで探す", "filter": "絞り込む",
    "closed_title": "撤回・期限切れの同意（{n}件）", "no_match": "条件に合う同意はありません。",
    "news_title": "前回から新しいこと", "news_used": "{company}が{items}を受け取りました",
    "news_refused": "{company}の求めを断りました", "news_ending": "{company}への同意は{date}に終わります",
    "news_nothing": "前回から新しいことはありません。", "news_first": "ようこそ。ここに、データが使われたことや、もうすぐ終わる同意が表示されます。",
    "unverified_needs_flag": "未確認の依頼者です。この名前は誰も保証していません。",
    # after the copy: stop-use and erasure requests
    "erase_also": "{name}がコピーしたデータの利用停止と削除も求める",
    "rights_title": "コピーされたデータの利用停止・削除の求め",
    "rights_none": "まだ求めていません。",
    "rights_ask": "コピーされたデータの利用停止と削除を求める",
    "rights_follow_up": "返事を確かめる（届かなかった求めは送り直す）",
    "rights_kind_stop_use": "利用停止", "rights_kind_erase": "削除", "rights_kind_both": "利用停止と削除",
    "rights_state_sent": "送りました・受付の返事待ち", "rights_state_acknowledged": "受け付けられました",
    "rights_state_overdue": "期限を過ぎても、終わったという知らせがありません", "rights_state_done": "終わりました",
    "rights_due": "対応の期限", "rights_erased": "削除されたデータ", "rights_records": "件",
    "rights_nothing_erased": "なし（利用停止だけ）",
    "rights_evidence": "相手が署名した受付と完了の知らせを、証拠として保管しています。",
    "rights_error": "届きませんでした",
    # changed terms and renewals
    "changes_title": "今の同意から変わる点", "renewal_title": "同意の更新",
    "replaces_note": "断っても、今の同意はそのまま残ります。",
    # pairwise identifiers and replacing one
    "nav_ids": "会社ごとの識別子", "ids_title": "会社ごとに使っている識別子",
    "ids_lead": "このウォレットは、会社とデータの提供元の組み合わせごとに別の識別子を使います。"
                "そのため、会社どうしがあなたを結びつけることはできません。",
    "ids_none": "まだ識別子はありません。はじめて同意したときに作られます。",
    "ids_at": "{holder}からデータを受け取るときの識別子",
    "ids_state_linked": "連携済み", "ids_state_unlinked": "未連携", "ids_state_replaced": "取り替え済み",
    "ids_linked": "{holder}は、この識別子があなたのものだと知っています（{date}から）。",
    "ids_no_holder_link": "{holder}でまだウォレットの連携をしていません。{holder}から受け取る一回限りのコードで連携すると、"
                          "この識別子も自動で連携されます。",
    "ids_failed": "前回の連携がうまくいきませんでした：{why} ウォレットが自動でもう一度試します。",
    "ids_waiting": "次にレジストリに送るときに、ウォレットが自動で連携します。",
    "ids_refused": "{date}に新しい識別子に取り替えました。{holder}はこの古い識別子を受け付けません。",
    "ids_retired": "{date}に新しい識別子に取り替えました。{holder}はこの古い識別子を知りませんでした。",
    "ids_live": "この識別子で結んでいる有効な同意：{n}件", "ids_replaced_title": "取り替えた古い識別子（{n}件）",
    "ids_replace": "この識別子を取り替える",
    "ids_replace_help": "この識別子の鍵がもれたかもしれないとき（パソコンをなくした、データベースをコピーされたなど）に使います。",
    "ids_did": "識別子（DID）", "ids_generation": "世代", "ids_link_error": "連携の失敗", "ids_link_cmd": "連携のコマンド",
    "replace_title": "識別子を取り替えますか",
    "replace_lead": "{company}が{holder}からデータを受け取るときに使う、あなたの識別子を新しいものに取り替えます。",
    "replace_holder": "{holder}に新しい識別子を伝えます。それから先、{holder}は古い識別子を受け付けません。"
                      "古い鍵を持っている人がいても、あなたのデータは受け取れなくなります。",
    "replace_holder_unlinked": "{holder}はまだこの識別子を知らないので、{holder}には何も伝えません。"
                               "新しい識別子は、連携できるときに自動で連携されます。",
    "replace_consents": "この識別子で結んでいる有効な同意{n}件を、新しい鍵で署名し直して{company}に届け直します。"
                        "内容・期限・状態（一時停止中を含む）は変わりません。古い同意書は撤回されます。",
    "replace_no_consents": "この識別子で結んでいる有効な同意はありません。",
    "replace_others": "ほかの会社やデータの提供元との識別子は変わりません。",
    "replace_down": "{holder}が応答しないときは、何も変わりません。あとでもう一度試してください。",
    "replace_go": "取り替える", "replace_cancel": "やめる",
    "replaced_title": "識別子を取り替えました",
    "replaced_told": "{holder}は新しい識別子を受け付け、古い識別子を受け付けなくなりました。",
    "replaced_not_told": "{holder}は古い識別子を知らなかったので、新しい識別子はこれから連携されます。",
    "replaced_ok": "{items}の同意：新しい鍵で署名し直し、{company}に届けました。",
    "replaced_failed": "{items}の同意：新しい鍵で署名し直しましたが、{company}に届けられませんでした。"
                       "同意はウォレットに保存されています。下のボタンで、もう一度届けられます。",
    "replaced_none": "署名し直す同意はありませんでした。", "back_to_ids": "識別子の一覧に戻る",
    "ids_old_did": "古い識別子（DID）", "ids_new_did": "新しい識別子（DID）",
    "ids_unknown_company": "名前のわからない会社", "ids_unknown_holder": "データの提供元",
    "replace_already": "この識別子はもう取り替えてあります。一覧で新しい識別子を確かめてください。",
    "ids_link_label": "{holder}から受け取った一回限りのコード", "ids_link_go": "連携する",
    "ids_link_done": "{holder}でウォレットを連携しました。これから、{holder}があなたのデータを渡したり断ったりするたびに、"
                     "その記録を同意の一覧で見られます。",
    "ids_link_failed": "{holder}での連携はできませんでした。{why}",
    "ids_link_why_invalid": "コードを入力してください（{most}文字まで）。",
    "ids_link_why_link_code_invalid": "{holder}はそのコードを知りません。打ち間違いがないか確かめるか、{holder}に新しいコードをもらってください。",
    "ids_link_why_replayed": "そのコードはもう使われています。{holder}に新しいコードをもらってください。",
    "ids_link_why_expired": "そのコードは期限が切れています。{holder}に新しいコードをもらってください。",
    "ids_link_why_unavailable": "{holder}につながりませんでした。しばらくしてからもう一度試してください。",
    "ids_link_why_wrong_audience": "同意に書かれた{holder}のアドレスで、{holder}ではない別のサービスが応答しました。"
                                   "コードは送っていません。時間をおいて試すか、{holder}に問い合わせてください。",
}

_EN: dict[str, str] = {
    "app": "CopyMe wallet", "nav_consents": "Your consents", "switch": "日本語", "skip": "Skip to content",
    "tech": "Technical details", "sep": ", ",
    "review_title": "A request for your consent", "requester": "Requester", "holder": "Data comes from",
    "verified": "verified (trust list)",
    "unverified": "UNVERIFIED requester. This name is the requester's own claim; nobody vouches for it.",
    "points": "Key points", "data_items": "Data to share", "required": "required", "optional": "optional",
    "required_help": "Required items cannot be left out; of the optional ones, only those you tick are shared.",
    "purposes": "Purposes", "retention": "Kept for", "days": "days", "onward": "Passed on to others",
    "onward_yes": "yes: other companies will receive it", "onward_no": "no",
    "validity": "Consent valid for", "answer_by": "Answer before", "terms": "Full terms",
    "accept": "Consent to the chosen items", "decline": "Decline",
    "decided_accepted": "You already consented to this request.",
    "decided_declined": "You already declined this request.",
    "see_consent": "See the consent", "decision": "Decision", "yes": "yes", "no": "no",
    "requester_did": "Requester's DID", "holder_did": "Data holder's DID", "terms_hash": "Terms hash (SHA-256)",
    "request_id": "Request id",
    "accepted_title": "Consent given", "accepted_lead": "You signed the consent and it was handed to the requester.",
    "undelivered": "The requester could not be reached. The consent is kept in your wallet.",
    "retry": "Try delivering again", "back_to": "Back to", "back_to_requester": "Back to the requester",
    "declined_title": "Declined",
    "declined_lead": "No data was shared. The requester was told only that you said no — nothing that identifies you.",
    "declined_unnotified": "The requester could not be told that you said no (it did not answer). No data was shared.",
    "list_title": "Your consents", "none": "No consents yet.",
    "granted": "Data shared", "until": "Valid until", "state": "State", "details": "Details",
    "pending": "pending", "pending_help": "This change has not reached the registry yet.",
    "sync": "Send to the registry now", "synced": "Sent to the registry.",
    "sync_failed": "Still not sent", "nothing_pending": "Nothing is pending.",
    "delivered_no": "not delivered", "id": "id", "no_consents": "(no consents)",
    "delivered": "Delivered to the requester", "delivered_yes": "yes",
    "receipts_lead": "Records signed by {holder}: every time it handed your data over, and every time it refused.",
    "receipt_released": "{who} received your data", "receipt_refused": "{who} {why}",
    "receipt_no": "no. {n} under this consent",
    "pull": "Get the latest records now", "pulled": "The latest records were fetched from your data holders.",
    "pull_failed": "The records could not be fetched.",
    "receipt_warning": "A problem with the records from {holder}: {why}",
    "data_user": "Data user", "holder_no": "Holder record no.", "data_used": "Data used",
    "detail_title": "Consent details", "shown": "What you saw when you consented",
    "shown_lang": "shown in", "not_granted": "not shared", "history": "Status history",
    "at": "When", "reached": "Reached the registry", "receipts": "When your data was used, or refused",
    "no_receipts": "No use recorded yet.", "recipient": "Received by", "purpose": "Purpose",
    "source": "Reported by", "ids": "Identifiers", "consent_id": "Consent id",
    "status_list": "Status list and index", "issued": "Given on", "list_iat": "List issued at",
    "credential": "Credential (base64url)", "source_manual": "entered by hand",
    "change": "Change", "suspend": "Suspend", "resume": "Resume", "revoke": "Revoke",
    "revoke_confirm": "I understand that revoking is final",
    "suspend_help": "While suspended, every data request is refused. You can resume at any time.",
    "revoke_help": "A revoked consent can never be used again.",
    "changed_ok": "The registry has it", "changed_pending": "Saved, but the registry does not have it yet",
    "done_active": "Resumed", "done_suspended": "Suspended", "done_revoked": "Revoked",
    "error_title": "That did not work", "error_code": "Reason code", "error_detail": "Detail",
    "back_home": "Back to your consents", "reason_unknown": "It did not work, for an unexpected reason.",
    "login_title": "Open your wallet",
    "login_lead": "This wallet runs only on your own computer. It has not been opened in this browser yet, "
                  "so your consents cannot be shown.",
    "login_how": "Open it again from the \"Open your wallet\" link shown when CopyMe started. A link works "
                 "once, for 10 minutes. If you were given a key, paste it below.",
    "login_commands": "Commands that make a fresh link",
    "key": "One-time key", "open": "Open", "wrong_key": "That key is wrong, used or expired.",
    "phrase": "Your recovery phrase. Write these 24 words down on paper, in order, and keep them safe: "
              "with them (and a backup file) 'copyme wallet recover' rebuilds this wallet on another "
              "computer. Anyone who has them can act as you. This is the only time they are shown.",
    "validity_plain": "For {days} days after you consent (until {date}), {company} may fetch your data from {holder}.",
    "retention_plain": "{company} deletes the data it received within {days} days of receiving it.",
    "revoke_plain": "Revoking refuses every later fetch. Data already handed over is not deleted by itself; "
                    "to have it deleted, ask {company} to erase it.",
    "onward_plain_yes": "{company} passes the data it receives on to other companies.",
    "onward_plain_no": "{company} does not pass the data it receives on to other companies.",
    "when_title": "How long, and what happens", "shorten": "Consent valid for", "days_option": "{days} days",
    "days_option_max": "{days} days (as asked)", "shorten_help": "A shorter time: no fetch works after its last day.",
    "verified_by": "checked by {council}", "about_mark": "About this ✔",
    "about_mark_text": "{council} checks a company's name and signing key and lists it on its trust list. "
                       "{council} vouches that this request really comes from {company}.",
    "how_listed": "A company applies to {council} and is listed once its name and key are checked. "
                  "A request from a company that is not listed gets a red UNVERIFIED warning.",
    "council_default": "the trust list's publisher",
    "nav_who": "Who has my data", "who_title": "Who has your data",
    "who_lead": "Per company: what it received and when, and whether it may still fetch.",
    "who_may_fetch": "May still fetch your data", "who_may_not_fetch": "Can no longer fetch your data",
    "who_received": "Received", "who_nothing_yet": "Nothing yet",
    "last_use": "Last used", "never_used": "Not used yet", "given": "Given on",
    "outcome": "Outcome", "outcome_refused": "Refused", "outcome_released": "Handed over",
    "ended_revoked": "Revoked on", "ended_expired": "Ended on",
    "filter_state": "State", "filter_all": "all", "search": "Search by company or data", "filter": "Filter",
    "closed_title": "Revoked and expired consents ({n})", "no_match": "No consent matches.",
    "news_title": "New since your last visit", "news_used": "{company} received {items}",
    "news_refused": "A request from {company} was refused", "news_ending": "Your consent to {company} ends on {date}",
    "news_nothing": "Nothing new since your last visit.",
    "news_first": "Welcome. Uses of your data and consents about to end will show here.",
    "unverified_needs_flag": "UNVERIFIED requester: nobody vouches for this name.",
    "erase_also": "Also ask {name} to stop using and delete the data it copied",
    "rights_title": "Requests to stop using or delete copied data",
    "rights_none": "Nothing asked yet.",
    "rights_ask": "Ask them to stop using and delete the copied data",
    "rights_follow_up": "Check for answers (and resend what did not arrive)",
    "rights_kind_stop_use": "Stop using", "rights_kind_erase": "Delete", "rights_kind_both": "Stop using and delete",
    "rights_state_sent": "Sent, not acknowledged yet", "rights_state_acknowledged": "Acknowledged",
    "rights_state_overdue": "Past the due date and not done", "rights_state_done": "Done",
    "rights_due": "Due by", "rights_erased": "Deleted", "rights_records": "records",
    "rights_nothing_erased": "nothing (use stopped only)",
    "rights_evidence": "Their signed acknowledgement and completion are kept as evidence.",
    "rights_error": "Did not arrive",
    "changes_title": "What changes from your current consent", "renewal_title": "Renewing your consent",
    "replaces_note": "If you decline, your current consent stays as it is.",
    "nav_ids": "Your identifiers", "ids_title": "The identifiers you use with each company",
    "ids_lead": "Your wallet uses a different identifier for each company and data holder, "
                "so companies cannot connect what they know about you.",
    "ids_none": "No identifiers yet. One is made when you first consent.",
    "ids_at": "Your identifier when it fetches from {holder}",
    "ids_state_linked": "Linked", "ids_state_unlinked": "Not linked yet", "ids_state_replaced": "Replaced",
    "ids_linked": "{holder} knows this identifier is yours (since {date}).",
    "ids_no_holder_link": "You have not linked your wallet at {holder} yet. Once you link it with the one-time "
                          "code {holder} gives you, this identifier is linked too, by itself.",
    "ids_failed": "The last try to link it did not work: {why} The wallet tries again by itself.",
    "ids_waiting": "The wallet links it by itself the next time it sends to the registry.",
    "ids_refused": "Replaced with a new identifier on {date}. {holder} refuses this old one.",
    "ids_retired": "Replaced with a new identifier on {date}. {holder} never knew this old one.",
    "ids_live": "Consents in force with this identifier: {n}", "ids_replaced_title": "Old identifiers you replaced ({n})",
    "ids_replace": "Replace this identifier",
    "ids_replace_help": "Use this if its key may have leaked (a lost computer, a copied database, ...).",
    "ids_did": "Identifier (DID)", "ids_generation": "Generation", "ids_link_error": "Link failure",
    "ids_link_cmd": "Command to link",
    "replace_title": "Replace this identifier?",
    "replace_lead": "The identifier {company} uses for you when it fetches from {holder} is replaced by a new one.",
    "replace_holder": "{holder} is told the new identifier and refuses the old one from then on: "
                      "whoever may have the old key can no longer get your data.",
    "replace_holder_unlinked": "{holder} does not know this identifier yet, so nothing is sent to {holder}. "
                               "The new identifier is linked by itself once it can be.",
    "replace_consents": "The consents in force with it ({n}) are signed again with the new key and delivered "
                        "again to {company}: same terms, same end date, same state (suspended ones stay suspended). "
                        "The old ones are revoked.",
    "replace_no_consents": "No consent in force uses this identifier.",
    "replace_others": "Your identifiers with other companies and data holders do not change.",
    "replace_down": "If {holder} does not answer, nothing changes; try again later.",
    "replace_go": "Replace it", "replace_cancel": "Cancel",
    "replaced_title": "Identifier replaced",
    "replaced_told": "{holder} now takes the new identifier and refuses the old one.",
    "replaced_not_told": "{holder} never knew the old identifier; the new one will be linked there by itself.",
    "replaced_ok": "Consent for {items}: signed again with the new key and delivered to {company}.",
    "replaced_failed": "Consent for {items}: signed again with the new key, but {company} could not be reached. "
                       "It is kept in your wallet; the button below delivers it again.",
    "replaced_none": "There were no consents to sign again.", "back_to_ids": "Back to your identifiers",
    "ids_old_did": "Old identifier (DID)", "ids_new_did": "New identifier (DID)",
    "ids_unknown_company": "A company without a name", "ids_unknown_holder": "the data holder",
    "replace_already": "This identifier was already replaced. See the new one in the list.",
    "ids_link_label": "The one-time code {holder} gave you", "ids_link_go": "Link",
    "ids_link_done": "Your wallet is now linked at {holder}. From now on, each time {holder} gives out your data "
                     "or refuses to, you can see it in your consents.",
    "ids_link_failed": "Linking at {holder} did not work. {why}",
    "ids_link_why_invalid": "Type the code (at most {most} characters).",
    "ids_link_why_link_code_invalid": "{holder} does not know that code. Check it for typos, or ask {holder} for a new one.",
    "ids_link_why_replayed": "That code was used already. Ask {holder} for a new one.",
    "ids_link_why_expired": "That code has expired. Ask {holder} for a new one.",
    "ids_link_why_unavailable": "{holder} did not answer. Try again later.",
    "ids_link_why_wrong_audience": "At the address your consents give for {holder}, another service answered, "
                                   "not {holder}. Your code was not sent. Try again later, or ask {holder}.",
}

_WORDS: dict[str, dict[str, str]] = {"ja": _JA, "en": _EN}

#: A consent's state in plain words.
STATES: dict[str, dict[str, str]] = {
    "ja": {"active": "有効", "suspended": "一時停止中", "revoked": "撤回済み", "expired": "期限切れ"},
    "en": {"active": "active", "suspended": "suspended", "revoked": "revoked", "expired": "expired"},
}

#: What a reason code means for the person who met it (the code itself goes into the
#: technical details).  Every code of every party is here: the wallet shows the data holder's
#: and the registry's refusals too.
REASONS: dict[str, dict[str, str]] = {
    "ja": {
        "bad_backup": "CopyMe ウォレットのバックアップとして読めません。",
        "bad_phrase": "復元フレーズが正しくありません。表示された番号の語を確かめてください。",
        "bad_signature": "署名が正しくありません。偽物の可能性があります。",
        "chain_broken": "データの提供元の記録が、以前受け取ったものと食い違っています。書き換えられた可能性があります。",
        "chain_gap": "データの提供元の記録の一部が欠けています。",
        "clock_skew": "時刻が合っていないため、断りました。パソコンかスマートフォンの時計を確かめてください。",
        "conflict": "今の状態ではできません。",
        "corrupt_store": "ウォレットのデータが壊れています。何も消さずにそのままにしてあります。",
        "data_unavailable": "データの提供元が、いまデータを用意できません。",
        "erasure_failed": "会社がデータの削除をまだ終えられていません。依頼は受け付けられたままです。",
        "expired": "期限が切れています。",
        "foreign_consent": "別の会社に与えた同意を置き換えようとしています。",
        "stale_notice": "条件を変えているのに、要点の説明が前のままです。この依頼は受け付けません。",
        "internal": "相手のサービスの中で問題が起きました。しばらくしてからもう一度試してください。",
        "invalid": "入力が正しくありません。",
        "items_not_granted": "同意していないデータ項目が求められました。",
        "key_replaced": "この鍵は、持ち主がデータの提供元で新しい鍵に置き換えたため、もう使えません。",
        "link_code_invalid": "連携用のコードが違うか、使用済みか、期限切れです。",
        "locked": "ウォレットの鍵が開いていません。",
        "malformed": "読めない形式です。",
        "method_not_allowed": "この操作には対応していません。",
        "not_found": "見つかりませんでした。",
        "not_initialised": "このパソコンには、まだウォレットがありません。",
        "no_data_source": "データの提供元に、データの出どころが設定されていません。",
        "not_linked": "データの提供元で、あなたのアカウントとまだ結び付けられていません。",
        "not_subject": "同意を受けた会社以外からの求めです。",
        "not_yet_valid": "まだ有効になっていません。",
        "purpose_not_granted": "同意していない目的で求められました。",
        "rate_limited": "短い間に多く頼みすぎたため、断られました。しばらくしてからもう一度試してください。",
        "records_tampered": "提供の記録に書き換えの跡があります。",
        "replayed": "同じ求めが二度送られたため、断りました。",
        "request_mismatch": "同意書が、元の依頼と合っていません。",
        "revoked": "この同意は撤回されています。",
        "status_invalid": "同意の状態を確かめるリストが正しくありません。",
        "status_rollback": "同意の状態を確かめるリストが古い版に戻されています。",
        "status_unavailable": "同意の状態を確かめられませんでした。",
        "status_untrusted": "同意の状態を確かめるリストが、信頼できる所に置かれていません。",
        "suspended": "この同意は一時停止中です。",
        "too_large": "大きすぎます。",
        "unauthorised": "この操作は受け付けられませんでした。ウォレットを開き直してください。",
        "unavailable": "相手のサービスにつながりませんでした。",
        "busy": "相手のサービスが混み合っています。少し待ってからもう一度お試しください。",
        "undelivered": "同意は保存しましたが、依頼者に届けられませんでした。",
        "unknown_consent": "その同意は見つかりませんでした。",
        "unknown_item": "ウォレットが説明できないデータ項目が含まれています。",
        "unknown_key": "知らない鍵で署名されています。",
        "unknown_purpose": "ウォレットが説明できない利用目的が含まれています。",
        "unsupported_alg": "対応していない署名方式です。",
        "unverified_requester": "誰も保証していない依頼者です。それでも同意するときは、そのことをはっきり指定してください。",
        "no_rights_endpoint": "この会社は、利用停止や削除の求めを受け付ける窓口を示していません。何も変えていません。",
        "wallet_exists": "ウォレットはすでにあります。上書きはしません。",
        "wrong_audience": "別の相手に宛てたものです。",
        "wrong_passphrase": "パスフレーズが違います。",
        "wrong_signer": "署名した相手が、本来署名するはずの相手と違います。",
        "wrong_type": "別の種類のデータです。",
    },
    "en": {
        "bad_backup": "It cannot be read as a CopyMe wallet backup.",
        "bad_phrase": "The recovery phrase is not right. Check the word it names.",
        "bad_signature": "The signature is not valid; this may be forged.",
        "chain_broken": "The data holder's records differ from those received before; they may have been rewritten.",
        "chain_gap": "Some of the data holder's records are missing.",
        "clock_skew": "The clocks do not agree, so it was refused. Check the clock of your computer or phone.",
        "conflict": "Not possible in the current state.",
        "corrupt_store": "The wallet's data is damaged. Nothing was deleted; it is left as it is.",
        "data_unavailable": "The data holder cannot provide the data right now.",
        "erasure_failed": "The company could not finish deleting the data yet; your request stays open.",
        "expired": "It has expired.",
        "foreign_consent": "It tries to replace a consent you gave to another company.",
        "stale_notice": "It changes the terms but keeps the old key points, so the summary would be wrong. "
                        "It was not accepted.",
        "internal": "Something went wrong inside the other service. Try again later.",
        "invalid": "The input is not valid.",
        "items_not_granted": "Data items you did not consent to were asked for.",
        "key_replaced": "This key was replaced by its owner at the data holder and no longer counts.",
        "link_code_invalid": "The link code is wrong, used or expired.",
        "locked": "The wallet's keys are locked.",
        "malformed": "It cannot be read.",
        "method_not_allowed": "This action is not supported.",
        "not_found": "Not found.",
        "not_initialised": "There is no wallet on this computer yet.",
        "no_data_source": "The data holder has no data source set up.",
        "not_linked": "The data holder has not linked this wallet to your account yet.",
        "not_subject": "It was asked for by a company other than the one you consented to.",
        "not_yet_valid": "It is not valid yet.",
        "purpose_not_granted": "It was asked for a purpose you did not consent to.",
        "rate_limited": "Too many requests in a short time, so it was refused. Try again a little later.",
        "records_tampered": "The provision records show signs of tampering.",
        "replayed": "The same request was sent twice, so it was refused.",
        "request_mismatch": "The consent does not answer the request it claims to answer.",
        "revoked": "This consent has been revoked.",
        "status_invalid": "The list that tells a consent's state is not valid.",
        "status_rollback": "The list that tells a consent's state was rolled back to an older version.",
        "status_unavailable": "The consent's state could not be checked.",
        "status_untrusted": "The list that tells a consent's state is not kept anywhere trusted.",
        "suspended": "This consent is suspended.",
        "too_large": "It is too large.",
        "unauthorised": "This action was not accepted. Open your wallet again.",
        "unavailable": "The other service could not be reached.",
        "busy": "The other service is busy. Please try again in a moment.",
        "undelivered": "The consent is saved, but the requester could not be reached.",
        "unknown_consent": "That consent was not found.",
        "unknown_item": "It asks for a data item the wallet cannot explain.",
        "unknown_key": "It is signed with a key nobody knows.",
        "unknown_purpose": "It names a purpose the wallet cannot explain.",
        "unsupported_alg": "The signature method is not supported.",
        "unverified_requester": "Nobody vouches for this requester. To consent anyway, say so explicitly.",
        "no_rights_endpoint": "This company named no address for requests to stop using or delete data. Nothing was changed.",
        "wallet_exists": "There is already a wallet; it is never overwritten.",
        "wrong_audience": "It was meant for someone else.",
        "wrong_passphrase": "The passphrase is wrong.",
        "wrong_signer": "It was signed by someone other than the party who should have signed it.",
        "wrong_type": "It is a different kind of object.",
    },
}

#: Why a requester's DID is not verified, in plain words (the reason code is shown apart, as a technical detail).
NOTES: dict[str, dict[str, str]] = {
    "ja": {"not_listed": "協議会のトラストリストに載っていません",
           "unavailable": "トラストリストを取得または検証できませんでした",
           "no_trust_list": "トラストリストがありません",
           "unverified_then": "同意したときに確認できていませんでした"},
    "en": {"not_listed": "not on the council's trust list",
           "unavailable": "the trust list could not be fetched or verified",
           "no_trust_list": "no trust list",
           "unverified_then": "not verified when consenting"},
}


#: Why a holder refused a data user, as the consent's history says it (receipts); other codes
#: fall back to ``refused_other`` (the code itself then goes to the technical details).
REFUSALS: dict[str, dict[str, str]] = {
    "ja": {"suspended": "一時停止中だったので、断られました", "revoked": "撤回した後だったので、断られました",
           "expired": "同意の期限が切れていたので、断られました",
           "items_not_granted": "同意していないデータを求めたので、断られました",
           "purpose_not_granted": "同意していない目的だったので、断られました",
           "not_subject": "同意の相手ではないので、断られました",
           "refused_other": "断られました"},
    "en": {"suspended": "tried after you suspended — refused", "revoked": "tried after you revoked — refused",
           "expired": "tried after the consent expired — refused",
           "items_not_granted": "asked for data you did not grant — refused",
           "purpose_not_granted": "asked for a purpose you did not grant — refused",
           "not_subject": "is not who you consented to — refused",
           "refused_other": "tried — refused"},
}

#: What a failed pull of receipts means for the user.
PULL_PROBLEMS: dict[str, dict[str, str]] = {
    "ja": {"chain_gap": "記録の一部が欠けています。欠けた所から先は取り込んでいません。",
           "chain_broken": "以前の記録が書き換えられています。その記録は取り込んでいません。",
           "bad_signature": "署名が正しくない記録がありました。偽物の可能性があるので取り込んでいません。",
           "wrong_audience": "別の会社が署名した記録がありました。取り込んでいません。",
           "other": "記録を取り寄せられませんでした。"},
    "en": {"chain_gap": "some records are missing; nothing after the gap was taken in.",
           "chain_broken": "an earlier record was rewritten; it was not taken in.",
           "bad_signature": "a record's signature is not valid (it may be forged); it was not taken in.",
           "wrong_audience": "a record was signed by another company; it was not taken in.",
           "other": "the records could not be fetched."},
}


#: What a replacement request changes (:mod:`wallet.changes`), per language ({a}: the old value
#: or a list, {b}: the new value).  Plain words it also uses (yes, no, the list separator) come
#: from :func:`words`, never a second copy here.
CHANGES: dict[str, dict[str, str]] = {
    "ja": {
        "items_added": "新たに求めるデータ：{a}", "items_removed": "求めなくなるデータ：{a}",
        "now_required": "必須になるデータ：{a}", "now_optional": "任意になるデータ：{a}",
        "purposes_added": "新しい利用目的：{a}", "purposes_removed": "なくなる利用目的：{a}",
        "retention": "保存期間：{a}日 → {b}日", "onward": "第三者への再提供：{a} → {b}",
        "validity": "同意の有効期間：{a}日 → {b}日", "recipient": "データを受け取る会社が変わります：{a} → {b}",
        "holder": "データの提供元が変わります：{a} → {b}",
        "renewal": "内容は今と同じです。同意すると {b} まで有効になり、今の同意は撤回されます。",
        "replacing": "この依頼は、今の同意（{a} まで有効）の代わりになります。同意すると今の同意は撤回されます。",
    },
    "en": {
        "items_added": "New data asked for: {a}", "items_removed": "No longer asked for: {a}",
        "now_required": "Now required: {a}", "now_optional": "Now optional: {a}",
        "purposes_added": "New purposes: {a}", "purposes_removed": "Purposes dropped: {a}",
        "retention": "Kept for: {a} → {b} days", "onward": "Passed on to others: {a} → {b}",
        "validity": "Consent valid for: {a} → {b} days", "recipient": "The company receiving the data changes: {a} → {b}",
        "holder": "The data comes from elsewhere: {a} → {b}",
        "renewal": "The same terms as now. If you agree it is valid until {b}, and the current consent is revoked.",
        "replacing": "This replaces your current consent (valid until {a}). If you agree, the current one is revoked.",
    },
}


def _pick(lang: str) -> str:
    return lang if lang in LANGS else LANGS[0]


def words(lang: str) -> Mapping[str, str]:
    """All words in ``lang`` (``ja`` or ``en``; anything else gets Japanese)."""
    return _WORDS[_pick(lang)]


def state(status: str, lang: str) -> str:
    """A consent state (``active``, ``suspended``, ``revoked``, ``expired``) in plain words."""
    return STATES[_pick(lang)].get(status, status)


def reason(code: str, lang: str) -> str:
    """What reason ``code`` means, in ``lang``; a generic sentence for a code not known here."""
    chosen = _pick(lang)
    return REASONS[chosen].get(code) or _WORDS[chosen]["reason_unknown"]


def refusal(code: str | None, lang: str) -> str:
    """A refused attempt's reason in plain words (unknown codes: a plain "refused")."""
    table = REFUSALS[_pick(lang)]
    return table.get(code or "", table["refused_other"])


def pull_problem(code: str, lang: str) -> str:
    """Why a pull of receipts stopped, in plain words."""
    table = PULL_PROBLEMS[_pick(lang)]
    return table.get(code, table["other"])
