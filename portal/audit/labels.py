"""The audit log's action codes as staff read them. A code not listed here (one added later)
is shown as it is, so nothing is hidden."""

from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "register.started": _("パスワード登録：開始"),
    "register.identity_submitted": _("パスワード登録：メールアドレスと生年月日の入力"),
    "register.key_resent": _("パスワード登録：認証キーの再送"),
    "register.too_many_wrong_keys": _("パスワード登録：認証キーの誤りが上限に達した"),
    "register.account_conflict": _("パスワード登録：アカウントが既にある"),
    "register.completed": _("パスワード登録：完了（マイページ開設）"),
    "reset.started": _("パスワード再設定：開始"),
    "reset.identity_submitted": _("パスワード再設定：メールアドレスと生年月日の入力"),
    "reset.key_resent": _("パスワード再設定：認証キーの再送"),
    "reset.too_many_wrong_keys": _("パスワード再設定：認証キーの誤りが上限に達した"),
    "reset.account_conflict": _("パスワード再設定：アカウントの不一致"),
    "reset.completed": _("パスワード再設定：完了"),
    "account.lock_cleared": _("ログインのロック解除"),
    "account.password_changed": _("パスワード変更"),
    "account.trusted_browser_revoked": _("ワンタイムパスワード省略ブラウザの解除"),
    "account.trusted_browsers_revoked": _("ワンタイムパスワード省略ブラウザの一括解除"),
    "jobseeker.created": _("求職者の登録"),
    "jobseeker.updated": _("求職者の変更"),
    "jobseeker.deleted": _("求職者の削除"),
    "jobseeker.email_changed": _("メールアドレスの変更（窓口）"),
    "jobseeker.import": _("CSV取込み（結果）"),
    "jobseeker.upload": _("CSVファイルのアップロード"),
    "jobseeker.upload_finished": _("CSVファイルの取込み終了"),
    "jobseeker.viewed": _("求職者ページの表示"),
    "jobseeker.guide_printed": _("「マイページ開設のご案内」の印刷"),
    "user.created": _("職員アカウントの作成"),
    "user.updated": _("職員アカウントの変更"),
    "user.password_set": _("職員アカウントのパスワード設定"),
    "user.deleted": _("職員アカウントの削除"),
}


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))
