#!/usr/bin/env python3
"""Writes tests/corpus/corpus.jsonl: labelled log lines for tests/it/corpus.rs.

Each output line is {"label": ID | "unlisted" | "none", "source": where the shape comes from,
"line": the raw log line}. Messages are written once below and wrapped in the formats they really
appear in (plain text, Node console `time<TAB>request-id<TAB>msg`, CLS JSON export with escaped
SCF_Message, SCF exception JSON, Mini Program real-time log item, DevTools). Run it after editing:

    python3 tests/corpus/gen.py

Labelling rule: a line gets an id only when an engineer reading it would say "guide error N is
happening right now"; a line that merely mentions a code (docs, config, comments, help text, metric
names, source code) is `none`; a clear error that is none of the ten is `unlisted`.

Sources named in notes (versions read, see patterns/README.md):
  guide      /work/shared/troubleshooting-guide.txt (the project's source of truth)
  formats    /work/shared/log-formats.md
  node-sdk   @cloudbase/node-sdk 3.18.1 src/auth/index.ts (validateUid, createTicket), utils TcbError
  oauth      @cloudbase/oauth 2.27.2 src/auth/auth-error.ts (AuthError, ErrorType, help messages)
  auth       @cloudbase/auth 2.27.2 src/index.ts (signIn* wrappers, console.error of helpMessage)
  utilities  @cloudbase/utilities 2.27.2 libs/util.ts (printError/throwError `[@cloudbase/js-sdk][CODE]:msg`)
  wx-server  wx-server-sdk 4.0.2 (errCode table, `errCode: N text | errMsg: …` formatting)
  node20     real output of node v20 console.error / util.inspect / err.stack (run locally)
  devtools   WeChat DevTools / base library console forms (formats doc; older `;at …` one-line form)
"""

import json
import os

RID = "8f4c0b5e-0a1b-4c2d-9e3f-123456789abc"
RID32 = "45a1c0de9b8f7e6d5c4b3a2918273645"
TS = "2025-03-14T01:22:05.301Z"
WXRID = "67d3855a-1b2c3d4e-5f607182"
OPENID = "oX1Yz2Ab3Cd4Ef5Gh6Ij7Kl8Mn9O"
DEV = "WAServiceMainContext.js?t=wechat&s=1741915325117&v=3.7.8:1 "

rows = []


def add(label, source, line):
    assert "\n" not in line, line
    rows.append({"label": label, "source": source, "line": line})


def dumps(v, ascii_=False):
    return json.dumps(v, ensure_ascii=ascii_, separators=(",", ":"))


def node(msg, sep="\t"):
    return f"{TS}{sep}{RID}{sep}{msg}"


def cls(msg, level=None, status="200", fn="getLoginTicket", ascii_=False):
    rec = {
        "SCF_FunctionName": fn,
        "SCF_Namespace": "prod-1g2h3j4k",
        "SCF_StartTime": "1741915325117",
        "SCF_LogTime": "1741915325310000000",
        "SCF_RequestId": RID,
    }
    if level:
        rec["SCF_Level"] = level
    rec["SCF_Message"] = msg
    rec["SCF_Type"] = "Custom"
    if status:
        rec["SCF_StatusCode"] = status
    return dumps(rec, ascii_)


def exc(first, status=430, msg="user code exception caught"):
    return dumps(
        {
            "errorCode": -1,
            "errorMessage": msg,
            "requestId": RID,
            "stackTrace": first + "\n    at exports.main (/var/user/index.js:21:31)",
            "statusCode": status,
        }
    )


def rt(parts, level=8, url="pages/login/login", item_level=None):
    entries = [{"time": 1741915325117, "level": 2, "msg": ["login start"]}]
    entries.append({"time": 1741915325301, "level": level, "msg": parts})
    lvl = item_level if item_level is not None else (2 | level)
    return dumps(
        {
            "level": lvl,
            "platform": 2,
            "libraryVersion": "3.7.8",
            "clientVersion": "8.0.56",
            "id": OPENID,
            "timestamp": 1741915325,
            "url": url,
            "msg": entries,
            "traceid": "7f1c2d3e4b5a",
            "filterMsg": "",
        }
    )


def dev(msg):
    return DEV + msg


# ---------------------------------------------------------------- 1 mp_require_undefined
L = "mp_require_undefined"
add(L, "formats: DevTools line after `app.js错误:`", " ReferenceError: require is not defined")
add(L, "formats: DevTools WAServiceMainContext prefix", dev("ReferenceError: require is not defined"))
add(L, "devtools: uncaught form", "Uncaught ReferenceError: require is not defined")
add(L, "devtools: bare message line of a MiniProgramError block", "require is not defined")
add(L, "devtools: older one-line form with `;at` suffix", "ReferenceError: require is not defined;at App lifeCycleMethod onLaunch function")
add(L, "devtools: older one-line form with `;at` suffix", "require is not defined;at pages/login/login page lifeCycleMethod onLoad function")
add(L, "devtools: npm not built, module not defined", "Error: module 'miniprogram_npm/@cloudbase/js-sdk/index.js' is not defined, require args is '@cloudbase/js-sdk'")
add(L, "devtools: npm not built, module not defined (adapter)", dev('Error: module "miniprogram_npm/@cloudbase/adapter-wx_mp/index.js" is not defined, require args is "@cloudbase/adapter-wx_mp"'))
add(L, "devtools: npm not built, module resolved beside the page", "module \"pages/login/@cloudbase/js-sdk.js\" is not defined, require args is '@cloudbase/js-sdk'")
add(L, "devtools: npm not built, older `;at` form", "module \"miniprogram_npm/@cloudbase/js-sdk/index.js\" is not defined;at App lifeCycleMethod onLaunch function")
add(L, "formats: real-time item App.onError", rt(["App.onError", "ReferenceError: require is not defined\n    at miniprogram_npm/@cloudbase/js-sdk/index.js:1:1"]))
add(L, "formats+devtools: real-time item of a MiniProgramError block", rt(["MiniProgramError", "require is not defined"]))
add(L, "devtools: npm not built in App.onError", rt(["App.onError", "Error: module 'miniprogram_npm/@cloudbase/js-sdk/index.js' is not defined, require args is '@cloudbase/js-sdk'"]))
add(L, "devtools: one-line app.js error", "app.js错误: ReferenceError: require is not defined")
add(L, "devtools: VM prefix", "VM12:1 Uncaught ReferenceError: require is not defined")
add(L, "issue 11 class 1: console.error(label, err)", "init cloudbase failed ReferenceError: require is not defined")
add(L, "devtools: thirdScriptError one-line", "thirdScriptError require is not defined;at app.js line 3 column 1")
add(L, "devtools: npm miniprogram_npm of another package", dev("Error: module 'miniprogram_npm/dayjs/index.js' is not defined, require args is 'dayjs'"))

N = "none"
add(N, "guide: section heading", "Error 1 — require is not defined (Mini Program side)")
add(N, "guide: symptom text quoted in a runbook log", "Symptom: After compiling the Mini Program, Console immediately shows ReferenceError: require is not defined, usually pointing to libs/cloudbase.js")
add(N, "help text", "checklist: if the Console says require is not defined, run Tools → Build npm first")
add(N, "comment", "// ReferenceError: require is not defined means \"Build npm\" was not run")
add(N, "devtools: stack frame line", "    at Object.<anonymous> (libs/cloudbase.js:1:1)(env: Windows,mp,1.06.2303220; lib: 3.7.8)")
add(N, "devtools: build npm success output", "构建 npm 完成：miniprogram_npm/@cloudbase/js-sdk/index.js")
add(N, "guide: prevention text", "Prevention: Add \"Build npm\" to the team's local startup checklist.")
add(N, "source code", "if (typeof require === 'undefined') console.warn('require is not defined: run Build npm')")
add("unlisted", "devtools: ReferenceError of another name", "ReferenceError: wx_require is not defined")
add("unlisted", "devtools: ReferenceError of another name", dev("ReferenceError: regeneratorRuntime is not defined"))
add("unlisted", "devtools: a local module path that does not exist (not Build npm)", "Error: module 'utils/util.js' is not defined, require args is '../../utils/util'")
add("unlisted", "devtools: uncaught ReferenceError in a page", rt(["App.onError", "ReferenceError: getApp is not defined\n    at pages/index/index.js:3:13"], url="pages/index/index"))

# ---------------------------------------------------------------- 2 wx_40029_invalid_code
L = "wx_40029_invalid_code"
add(L, "formats: jscode2session answer", '{"errcode":40029,"errmsg":"invalid code, rid: 67d3855a-1b2c3d4e-5f607182"}')
add(L, "guide: symptom", '{ "errcode": 40029, "errmsg": "invalid code, hints: [ req_id: GhEg2aLnRa-jmXXa ]" }')
add(L, "node20: console.error(label, res) util.inspect", node("jscode2session failed { errcode: 40163, errmsg: 'code been used, rid: 67d3855a-2c3d4e5f-60718293' }"))
add(L, "formats: CLS escaped message", cls(node('jscode2session {"errcode":40029,"errmsg":"invalid code, rid: 67d3855a-1b2c3d4e-5f607182"}'), level="INFO"))
add(L, "issue 11 class 3: thrown answer only in stackTrace", exc('Error: {"errcode":40029,"errmsg":"invalid code, rid: 67d3855a-1b2c3d4e-5f607182"}'))
add(L, "issue 11 class 3: thrown with label, 40163", exc('Error: jscode2session failed: {"errcode":40163,"errmsg":"code been used, rid: 67d3855a-2c3d4e5f-60718293"}'))
add(L, "issue 11 class 3: thrown errmsg only", exc("Error: invalid code, rid: 67d3855a-1b2c3d4e-5f607182"))
add(L, "issue 11 class 1: console.error(label, res.errcode, res.errmsg)", node("jscode2session failed 40029 invalid code, rid: 67d3855a-1b2c3d4e-5f607182"))
add(L, "issue 11 class 1: code after a colon", node("wx login error: 40029"))
add(L, "issue 11 class 1: code in parentheses after a Chinese sentence", node("登录失败（40029）"))
add(L, "issue 11 class 1: code in parentheses after an English sentence", "jscode2session failed (errcode 40163)")
add(L, "node20: a line of a multi-line util.inspect", node("  errcode: 40163,"))
add(L, "formats: Response RetMsg", f'Response RequestId:{RID32} RetMsg:{{"error":"WX_API_ERROR","errcode":40029}}')
add(L, "formats: tcb fn log 返回结果", '返回结果：{"error":"WX_API_ERROR","errcode":40163}')
add(L, "formats: CLS ERROR level, console.error(label, code, msg)", cls("jscode2session failed 40163 code been used, rid: 67d3855a-2c3d4e5f-60718293", level="ERROR"))
add(L, "formats: CLS record of the exception JSON", cls(exc('Error: {"errcode":40029,"errmsg":"invalid code, rid: 67d3855a-1b2c3d4e-5f607182"}'), level="ERROR", status="430"))
add(L, "formats: key=value", node("code2Session errcode=40029 errmsg=invalid code"))
add(L, "formats: Mini Program logs the function's answer", rt(["getLoginTicket result", {"error": "WX_API_ERROR", "errcode": 40029}]))
add(L, "node20: camelCase errCode from a wrapper", node("wx.login code rejected { errCode: 40029, errMsg: 'invalid code' }"))

add(N, "guide: section heading", "Error 2 — WeChat returns errcode: 40029")
add(N, "guide: markdown heading", "## Error 2 — WeChat returns errcode: 40029")
add(N, "guide: symptom quoted", 'Symptom: Cloud Function logs contain: { "errcode": 40029, "errmsg": "invalid code, hints: ..." }')
add(N, "prometheus exposition: errcode label", 'authwatch_errors_total{pattern="wx_40029_invalid_code",errcode="40029"} 3')
add(N, "prometheus exposition with timestamp", 'wx_api_errors_total{api="jscode2session",errcode="40163"} 12 1741915325117')
add(N, "formats: Report with 40029 in id and duration", "Report RequestId: 40029e1f-5b6a-4c3d-8e2f-1a2b3c4d5e6f Duration:40029ms Memory:256MB MaxMemoryUsed:31.417969MB")
add(N, "config / help listing codes", "retryable WeChat errcodes: 40029, 40163, 45011 (see the troubleshooting guide)")
add(N, "comment", '// { "errcode": 40029, "errmsg": "invalid code" } means the code was reused')
add(N, "status line: no error", node("[getLoginTicket] no 40029 in the last hour"))
add(N, "status line: cleared", node("[getLoginTicket] retrying after 40029 cleared"))
add(N, "config", "config: WX_RETRY_ERRCODES=40029,45011")
add(N, "formats: successful jscode2session", '{"errcode":0,"errmsg":"ok","session_key":"tiihtNczf5v6AKRyjwEUhQ==","openid":"oX1Yz2Ab3Cd4Ef5Gh6Ij7Kl8Mn9O"}')
add(N, "unrelated number", node("order 400291 created for oX1Yz2Ab"))
add(N, "formats: START with 40029 in id", "START RequestId: 40029c2e-7d8f-4a1b-9c3d-5e6f7a8b9c0d")
add(N, "help text in a log line", node("hint: errcode 40029 means the code was already used; call wx.login again"))
add(N, "source code", "if (session.errcode === 40029) return { error: 'CODE_REUSED' }")
add("unlisted", "formats: 40226 code blocked", '{"errcode":40226,"errmsg":"code blocked, rid: 67d3855a-3d4e5f60-71829304"}')
add("unlisted", "formats: -1 system busy", '{"errcode":-1,"errmsg":"system error, rid: 67d3855a-5f607182-93041526"}')
add("unlisted", "formats: 40013 invalid appid, util.inspect", node("jscode2session failed { errcode: 40013, errmsg: 'invalid appid, rid: 67d3855a-6071-8293' }"))
add("unlisted", "formats: CLS escaped, 40125 invalid appsecret", cls(node('jscode2session {"errcode":40125,"errmsg":"invalid appsecret, rid: 67d3855a-7182-9304"}')))

# ---------------------------------------------------------------- 3 wx_45011_minute_quota
L = "wx_45011_minute_quota"
add(L, "formats: jscode2session answer", '{"errcode":45011,"errmsg":"api minute-quota reach limit, must slower, retry next minute, rid: 67d3855a-4e5f6071-82930415"}')
add(L, "guide: symptom", '{ "errcode": 45011, "errmsg": "api minute-quota reach limit" }')
add(L, "node20: console.error(label, res) one line, space separator", node("jscode2session failed { errcode: 45011, errmsg: 'api minute-quota reach limit, must slower, retry next minute, rid: 67d3855a-4e5f6071-82930415' }", sep=" "))
add(L, "formats: CLS escaped message", cls(node('jscode2session {"errcode":45011,"errmsg":"api minute-quota reach limit, must slower, retry next minute, rid: 67d3855a-4e5f6071-82930415"}')))
add(L, "formats: Response RetMsg", f'Response RequestId:{RID32} RetMsg:{{"error":"WX_API_ERROR","errcode":45011}}')
add(L, "issue 11 class 3 / node20: thrown answer only in stackTrace", exc('Error: {"errcode":45011,"errmsg":"api minute-quota reach limit, must slower, retry next minute, rid: 67d3855a-4e5f6071-82930415"}'))
add(L, "issue 11 class 3: thrown errmsg only", exc("Error: api minute-quota reach limit, must slower, retry next minute, rid: 67d3855a-4e5f6071-82930415"))
add(L, "issue 11 class 3: thrown with code in text", exc("Error: jscode2session failed: 45011 api minute-quota reach limit"))
add(L, "issue 11 class 1: console.error(label, res.errcode, res.errmsg)", node("jscode2session failed 45011 api minute-quota reach limit, must slower, retry next minute, rid: 67d3855a-4e5f6071-82930415"))
add(L, "issue 11 class 1: code after a colon", node("code2session error: 45011"))
add(L, "issue 11 class 1: parentheses after a Chinese sentence", node("换取 openid 失败（45011）"))
add(L, "issue 11 class 1: parentheses after an English sentence", node("WeChat rate limit hit (errcode 45011)"))
add(L, "node20: a line of a multi-line util.inspect", node("  errcode: 45011,"))
add(L, "formats: tcb fn log 返回结果", '返回结果：{"error":"WX_API_ERROR","errcode":45011}')
add(L, "formats: CLS ERROR, escaped exception JSON", cls(exc('Error: {"errcode":45011,"errmsg":"api minute-quota reach limit"}'), level="ERROR", status="430"))
add(L, "formats: CLS, errmsg alone", cls("jscode2session: api minute-quota reach limit, must slower, retry next minute", level="ERROR"))
add(L, "formats: Mini Program logs the function's answer", rt(["getLoginTicket result", {"error": "WX_API_ERROR", "errcode": 45011}]))
add(L, "key=value", node("wx api call failed errcode=45011 errmsg=api minute-quota reach limit"))
add(L, "issue 11: a guide-6 line that carries its 45011 cause", 'createTicket failed: Invalid uid: "undefined" after {"errcode":45011,"errmsg":"api minute-quota reach limit"}')

add(N, "guide: section heading", "Error 3 — WeChat returns errcode: 45011")
add(N, "guide: markdown heading", "### Error 3 — WeChat returns errcode: 45011")
add(N, "prometheus exposition", 'authwatch_errors_total{pattern="wx_45011_minute_quota",errcode="45011"} 0')
add(N, "formats: START with 45011 in id", "START RequestId: 45011c2e-7d8f-4a1b-9c3d-5e6f7a8b9c0d")
add(N, "formats: Report with 45011 in numbers", "Report RequestId: 1b2c3d4e-45011-4a1b-9c3d-5e6f7a8b9c0d Duration:45011ms Memory:256MB MaxMemoryUsed:45.011MB")
add(N, "formats: CLS with 45011 in times only", '{"SCF_FunctionName":"getLoginTicket","SCF_StartTime":"1741915345011","SCF_LogTime":"1741915345011000000","SCF_RequestId":"45011aaa-0a1b-4c2d-9e3f-123456789abc","SCF_Message":"[getLoginTicket] ticket length: 472","SCF_Type":"Custom"}')
add(N, "help listing codes", "rate limits: errcodes 45011 (minute quota) and 40029 (invalid code) are retried next minute")
add(N, "comment", '# { "errcode": 45011, "errmsg": "api minute-quota reach limit" } -> add a ticket cache')
add(N, "guide: prevention", "Prevention: During load testing, actively observe the threshold at which 45011 appears and add caching before hitting it")
add(N, "status line", node("[loadtest] no 45011 in the last hour at 80 logins/min"))
add(N, "source code", "const QUOTA_ERRCODE = 45011;")
add(N, "help text quoting the errmsg", node("tip: if you see api minute-quota reach limit, add the ticket cache"))
add(N, "ticket cache hit", node("[getLoginTicket] ticket cache hit for openid oX1Y…, skipped jscode2session"))

# ---------------------------------------------------------------- 4 ticket_invalid
L = "ticket_invalid"
add(L, "guide: symptom", "{ code: 'INVALID_TICKET', message: 'ticket is invalid or expired' }")
add(L, "utilities: printError/throwError message", "[@cloudbase/js-sdk][INVALID_TICKET]:ticket is invalid or expired")
add(L, "formats: OPERATION_FAIL with server code", 'Error: {"code":"OPERATION_FAIL","msg":"[AUTH_INVALID_CUSTOM_LOGIN_TICKET] custom login ticket is invalid"}')
add(L, "formats: real-time item", rt(["signInWithCustomTicket failed", {"code": "TICKET_EXPIRED", "message": "ticket is invalid or expired"}]))
add(L, "issue 11 class 1: console.error(label, err.code, err.message)", "signInWithCustomTicket failed INVALID_TICKET ticket is invalid or expired")
add(L, "issue 11 class 1: code after a colon", "login failed: TICKET_EXPIRED")
add(L, "issue 11 class 1: parentheses after a Chinese sentence", "自定义登录失败（INVALID_TICKET）")
add(L, "oauth: AuthError (message = error_description) as DevTools prints it", dev("signInWithCustomTicket error AuthError: ticket is invalid or expired"))
add(L, "oauth: OAuth-style answer", '{"error":"invalid_grant","error_code":4,"error_description":"ticket is invalid or expired"}')
add(L, "issue 11 class 5: bare code as a msg array element", rt(["signInWithCustomTicket fail", "INVALID_TICKET"]))
add(L, "oauth: AuthError in a real-time item", rt(["signInWithCustomTicket", "AuthError: ticket is invalid or expired"]))
add(L, "utilities: OPERATION_FAIL printed by printError", dev("[@cloudbase/js-sdk][OPERATION_FAIL]:[AUTH_INVALID_CUSTOM_LOGIN_TICKET] custom login ticket is invalid"))
add(L, "utilities: throwError JSON, uncaught in promise", 'Uncaught (in promise) Error: {"code":"INVALID_TICKET","msg":"[@cloudbase/js-sdk][INVALID_TICKET]:ticket is invalid or expired"}')
add(L, "node20-style inspect in DevTools", "login error: { code: 'TICKET_EXPIRED', message: 'ticket is invalid or expired' }")
add(L, "issue 11 class 1: code after a Chinese colon", "登录失败：AUTH_INVALID_CUSTOM_LOGIN_TICKET")
add(L, "oauth: AuthError one line", "AuthError: ticket is invalid or expired")
add(L, "formats: CLS, a function that checks tickets", cls("verify ticket failed TICKET_EXPIRED", level="ERROR", fn="checkLogin"))

add(N, "source code", "const INVALID_TICKET = 'INVALID_TICKET';")
add(N, "config / policy", "retry policy: never retry INVALID_TICKET, TICKET_EXPIRED or SYSTEM_NOT_OPEN")
add(N, "config", "config: TICKET_EXPIRED_AFTER_MS=600000")
add(N, "guide: heading", "Error 4 — INVALID_TICKET / TICKET_EXPIRED")
add(N, "guide: prevention log line", node("[getLoginTicket] ticket length: 472"))
add(N, "help text", "tip: INVALID_TICKET usually means an old tcb_custom_login.json")
add(N, "prometheus exposition", 'authwatch_errors_total{pattern="ticket_invalid",code="INVALID_TICKET"} 0')
add(N, "auth 2.27.2: commented help text of the old decorator", "  4 - 创建 ticket 的自定义登录私钥是否过期")
add(N, "source code", "if (err.code === 'INVALID_TICKET') return relogin()")
add(N, "comment", "// { code: 'INVALID_TICKET', message: 'ticket is invalid or expired' } -> re-download the key")
add(N, "status line", "[login] no INVALID_TICKET since 10:00 after key rotation")
add(N, "guide: root cause text", "Root Cause: tcb_custom_login.json is not the latest copy from the Console; tickets it signs come back INVALID_TICKET")

# ---------------------------------------------------------------- 5 custom_login_disabled
L = "custom_login_disabled"
add(L, "guide: symptom", '{ "code": "SYSTEM_NOT_OPEN", "message": "custom login is not enabled" }')
add(L, "utilities: printError message", "[@cloudbase/js-sdk][SYSTEM_NOT_OPEN]:custom login is not enabled")
add(L, "formats: server code in OPERATION_FAIL", 'Error: {"code":"OPERATION_FAIL","msg":"[LOGIN_MANNER_UNREGISTED] login manner unregistered"}')
add(L, "formats: real-time item, escaped JSON string", rt(["signInWithCustomTicket failed", '{"code":"SYSTEM_NOT_OPEN","message":"custom login is not enabled"}']))
add(L, "issue 11 class 1: console.error(label, err.code, err.message)", "signInWithCustomTicket failed SYSTEM_NOT_OPEN custom login is not enabled")
add(L, "issue 11 class 2: OAuth-style answer (code named in issue 11, inferred: not in the 2.27.2 packages)", '{"error":"login_type_disabled","error_code":9,"error_description":"custom login is not enabled"}')
add(L, "oauth 2.27.2 ErrorType provider_not_enabled (description inferred from the SDK's keyword list)", '{"error":"provider_not_enabled","error_code":9,"error_description":"自定义登录未开启"}')
add(L, "oauth: AuthError one line", "AuthError: custom login is not enabled")
add(L, "oauth 2.27.2 generateHelpMessage for signInWithCustomTicket, a printed line", "  当前调用的 signInWithCustomTicket() 所需的登录方式尚未在云开发控制台启用。")
add(L, "oauth 2.27.2 generateHelpMessage for signInWithCustomTicket, a printed line", "  需要开启的登录方式：「自定义登录」")
add(L, "issue 11 class 1: parentheses after a Chinese sentence", "登录失败（SYSTEM_NOT_OPEN）")
add(L, "issue 11 class 1: code after a colon", "login failed: LOGIN_MANNER_UNREGISTED")
add(L, "issue 11 class 5: bare code as a msg array element", rt(["signInWithCustomTicket", "SYSTEM_NOT_OPEN"]))
add(L, "utilities: throwError JSON, uncaught in promise", dev('Uncaught (in promise) Error: {"code":"SYSTEM_NOT_OPEN","msg":"[@cloudbase/js-sdk][SYSTEM_NOT_OPEN]:custom login is not enabled"}'))
add(L, "oauth: login_method_disabled in a custom-ticket call", rt(["signInWithCustomTicket error", {"error": "login_method_disabled", "error_code": 9, "error_description": "login method is disabled"}]))
add(L, "oauth: AuthError with Chinese description (wording inferred)", dev("signInWithCustomTicket fail AuthError: 自定义登录未开启"))
add(L, "oauth: whole helpMessage in one real-time entry", rt(["[CloudBase Auth] 登录方式未开启\n\n  当前调用的 signInWithCustomTicket() 所需的登录方式尚未在云开发控制台启用。\n  需要开启的登录方式：「自定义登录」\n\n  请按以下步骤开启：\n  1. 打开云开发控制台：https://tcb.cloud.tencent.com/dev?envId=#/identity/login-manage\n     - signInWithPassword → 「用户名密码登录」"]))

add(N, "self-check line", "self-check: custom login enabled=true (SYSTEM_NOT_OPEN would mean it is off)")
add(N, "alert config", "alert codes: SYSTEM_NOT_OPEN, SIGN_PARAM_INVALID, INVALID_TICKET")
add(N, "docs", "docs: if custom login is not enabled the ticket is rejected at login")
add(N, "guide: heading", "Error 5 — SYSTEM_NOT_OPEN (Custom Login not enabled)")
add(N, "auth 2.27.2: old decorator help text", "  1 - 当前环境是否开启了自定义登录")
add(N, "oauth 2.27.2: help text mapping line", "     - signInAnonymously → 「匿名登录」")
add(N, "oauth 2.27.2: help text step", "  3. 进入「登录授权」页面，在「登录方式」或「身份源列表」中开启所需的登录方式")
add(N, "auth 2.27.2: anonymous hint line", "[CloudBase Auth] 提示：匿名登录需要在控制台开启「匿名登录」。")
add(N, "guide: fix", "Fix: Console → Authentication → Login Methods → Custom Login → Enable.")
add(N, "comment", "/* { \"code\": \"SYSTEM_NOT_OPEN\", \"message\": \"custom login is not enabled\" } */")
add(N, "prometheus exposition", 'authwatch_errors_total{pattern="custom_login_disabled",code="SYSTEM_NOT_OPEN"} 0')
add(N, "oauth source: ErrorType line", "  LOGIN_METHOD_DISABLED = 'login_method_disabled',")
add("unlisted", "oauth 2.27.2: help header, method unknown (anonymous or password login off)", "[CloudBase Auth] 登录方式未开启")
add("unlisted", "oauth 2.27.2: anonymous login off, printed help line", "  当前调用的 signInAnonymously() 所需的登录方式尚未在云开发控制台启用。")
add("unlisted", "oauth 2.27.2: setCustomSignFunc missing (failed_precondition, a code bug)", '{"error":"failed_precondition","error_description":"please use setCustomSignFunc to set custom sign function"}')
add("unlisted", "auth 2.27.2: console.warn of another failure", "[CloudBase Auth] signInAnonymously 失败 [INVALID_CREDENTIALS]: invalid credentials")

# ---------------------------------------------------------------- 6 custom_user_id_invalid
L = "custom_user_id_invalid"
add(L, "guide: symptom", r"createTicket failed: customUserId must match /^[A-Za-z0-9_\-#@(){}\[\]:.,<>+#~]{4,32}$/")
add(L, "node-sdk validateUid via err.stack in stackTrace", dumps({"errorCode": -1, "errorMessage": "user code exception caught", "requestId": RID, "stackTrace": 'Error: Invalid uid: "undefined"\n    at validateUid (/var/user/node_modules/@cloudbase/node-sdk/lib/auth/index.js:22:15)\n    at Auth.createTicket (/var/user/node_modules/@cloudbase/node-sdk/lib/auth/index.js:171:9)', "statusCode": 430}))
add(L, "node-sdk: String(err)", node("Error: uid must be a string"))
add(L, "node20: util.inspect of the error's fields in CLS", cls("createTicket failed { code: 'INVALID_PARAM', message: 'Invalid uid: \"undefined\"' }", level="ERROR"))
add(L, "node20: console.error(err) prints the class TcbError", node('TcbError: Invalid uid: "undefined"'))
add(L, "node20: console.error(label, err)", node('createTicket failed TcbError: Invalid uid: "undefined"'))
add(L, "issue 11 class 1: console.error(label, err.code, err.message)", node('createTicket failed: INVALID_PARAM Invalid uid: "undefined"'))
add(L, "node20: JSON.stringify({error: err.message, code})", node('{"error":"Invalid uid: \\"undefined\\"","code":"INVALID_PARAM"}'))
add(L, "node-sdk: uid must be a string in stackTrace", exc("Error: uid must be a string"))
add(L, "formats: Response RetMsg", f'Response RequestId:{RID32} RetMsg:{{"code":"INVALID_PARAM","message":"Invalid uid: \\"null\\""}}')
add(L, "node-sdk: a too-short uid", cls('createTicket error Invalid uid: "oX1"', level="ERROR"))
add(L, "node20: a line of a multi-line util.inspect", node("  message: 'uid must be a string',"))
add(L, "formats: tcb fn log 返回结果", '返回结果：{"code":"INVALID_PARAM","message":"uid must be a string"}')
add(L, "node-sdk: the thrown message logged", node('createTicket failed: Invalid uid: "undefined"'))
add(L, "issue 11 class 1: parentheses after a Chinese sentence", node('签发 ticket 失败 (Invalid uid: "undefined")'))
add(L, "formats: CLS ERROR escaped", cls('Error: Invalid uid: "undefined"', level="ERROR"))
add(L, "node20: TcbError stack in an exception", exc('TcbError: Invalid uid: "undefined"'))

add(N, "docs", "docs: customUserId must match 4-32 letters, digits and symbols")
add(N, "comment", "// createTicket failed: customUserId must match /^[A-Za-z0-9_]{4,32}$/ when openid is undefined")
add(N, "validation note", "validate: Invalid uids are rejected before createTicket")
add(N, "guide: heading", "Error 6 — customUserId format error")
add(N, "node-sdk source line", r"const checkCustomUserIdRegex = /^[a-zA-Z0-9_\-#@~=*(){}[\]:.,<>+]{4,32}$/")
add(N, "ok line", node('createTicket ok uid="oX1Yz2Ab3Cd4Ef5Gh6Ij7Kl8Mn9O" length=472'))
add(N, "guide: root cause text", "Root Cause: The first argument passed to createTicket is not a valid customUserId. The rule is 4–32 characters")
add(N, "help text", node("hint: Invalid uid: \"undefined\" usually means jscode2session failed"))
add("unlisted", "node-sdk: createTicket without env", node("createTicket failed: INVALID_PARAM no env in config"))
add("unlisted", "node-sdk: TcbError of another call", node("TcbError: [ResourceNotFound] Db or Table not exist. Please check your request"))

# ---------------------------------------------------------------- 7 domain_not_allowlisted
L = "domain_not_allowlisted"
add(L, "guide+formats: errMsg object", '{errMsg: "request:fail url not in domain list"}')
add(L, "formats: DevTools warning", "https://prod-1g2h3j4k.service.tcloudbase.com 不在以下 request 合法域名列表中，请参考文档：https://developers.weixin.qq.com/miniprogram/dev/framework/ability/network.html")
add(L, "utilities: NETWORK_ERROR wrapper", "[@cloudbase/js-sdk][NETWORK_ERROR]:request:fail url not in domain list")
add(L, "formats: real-time item", rt(["wx.request fail", {"errMsg": "request:fail url not in domain list"}]))
add(L, "issue 11 class 4: uploadFile", '{errMsg: "uploadFile:fail url not in domain list"}')
add(L, "issue 11 class 4: downloadFile", "downloadFile:fail url not in domain list")
add(L, "issue 11 class 4: connectSocket", rt(["socket error", {"errMsg": "connectSocket:fail url not in domain list"}]))
add(L, "base library: errno form", '{"errno":600002,"errMsg":"request:fail url not in domain list"}')
add(L, "formats: DevTools warning, uploadFile list", "https://prod-1g2h3j4k.tcb.qcloud.la 不在以下 uploadFile 合法域名列表中，请参考文档：https://developers.weixin.qq.com/miniprogram/dev/framework/ability/network.html")
add(L, "formats: DevTools warning, socket list", "wss://prod-1g2h3j4k.service.tcloudbase.com 不在以下 socket 合法域名列表中，请参考文档：https://developers.weixin.qq.com/miniprogram/dev/framework/ability/network.html")
add(L, "issue 11 class 1: console.error(label, err.errMsg)", "getLoginTicket request failed request:fail url not in domain list")
add(L, "devtools prefix", dev('wx.request fail {errMsg: "request:fail url not in domain list"}'))
add(L, "issue 11 class 5: string element", rt(["request fail", "request:fail url not in domain list"]))
add(L, "Error wrapper", "Error: request:fail url not in domain list")
add(L, "utilities: NETWORK_ERROR with JSON body", '[@cloudbase/js-sdk][NETWORK_ERROR]:{"errMsg":"request:fail url not in domain list"}')
add(L, "base library: errno object", '{errno: 600002, errMsg: "request:fail url not in domain list"}')
add(L, "issue 11 class 4: wx.downloadFile in a real-time item", rt(["avatar download failed", "downloadFile:fail url not in domain list"], url="pages/me/me"))

add(N, "help text", 'tip: tick "Do not verify domain names" if DevTools says url not in domain list')
add(N, "comment", "// request:fail url not in domain list -> add the domain in Server Domain")
add(N, "guide: heading", "Error 7 — Mini Program reports NETWORK_ERROR / request:fail url not in domain list")
add(N, "guide: fix text", "Add your CloudBase HTTP Access Service domain to the request allowlist, e.g. https://your-env.service.tcloudbase.com")
add(N, "config note", "配置 request 合法域名：https://prod-1g2h3j4k.service.tcloudbase.com")
add(N, "check output", "domain check ok: request 合法域名列表 contains prod-1g2h3j4k.service.tcloudbase.com")
add(N, "prometheus exposition", 'miniprogram_request_fail_total{reason="url not in domain list"} 0')
add(N, "guide: symptom text", "Symptom: When calling the Cloud Function HTTP endpoint: request:fail url not in domain list")
add("unlisted", "base library: request timeout", '{errMsg: "request:fail timeout"}')
add("unlisted", "utilities: NETWORK_ERROR timeout", "[@cloudbase/js-sdk][NETWORK_ERROR]:request:fail timeout")
add("unlisted", "base library: DNS failure", 'wx.request fail {errMsg: "request:fail -105:net::ERR_NAME_NOT_RESOLVED"}')

# ---------------------------------------------------------------- 8 sign_param_invalid
L = "sign_param_invalid"
add(L, "guide: symptom", "SIGN_PARAM_INVALID: credential signature verification failed")
add(L, "formats: js-sdk NETWORK_ERROR wrapping the cause", '[@cloudbase/js-sdk][NETWORK_ERROR]:{"code":"NETWORK_ERROR","msg":"refresh access_token failed：SIGN_PARAM_INVALID"}')
add(L, "node-sdk createTicket: key from another env", node("Error: 当前私钥所属环境与 init 指定环境不一致！"))
add(L, "formats: CLS, server answer", cls('createTicket failed {"code":"SIGN_PARAM_INVALID","message":"signature is expired"}', level="ERROR"))
add(L, "issue 11 class 4 / node-sdk: key without env_id", node("TcbError: 当前私钥未包含env_id 信息， 请前往腾讯云云开发控制台，获取自定义登录最新私钥"))
add(L, "node-sdk: env mismatch in stackTrace", exc("Error: 当前私钥所属环境与 init 指定环境不一致！"))
add(L, "issue 11 class 4: secret id error answer", '{"code":"SIGN_PARAM_INVALID","message":"secret id error"}')
add(L, "issue 11 class 1: console.error(label, err.code, err.message)", node("createTicket failed SIGN_PARAM_INVALID signature is expired"))
add(L, "issue 11 class 1: parentheses after a Chinese sentence", node("签名校验失败（SIGN_PARAM_INVALID）"))
add(L, "formats: CLS with \\u-escaped Chinese", cls("Error: 当前私钥所属环境与 init 指定环境不一致！", level="ERROR", ascii_=True))
add(L, "node20: console.error(label, err.code, err.message)", node("createTicket failed: INVALID_PARAM 当前私钥所属环境与 init 指定环境不一致！"))
add(L, "formats: Response RetMsg", f'Response RequestId:{RID32} RetMsg:{{"code":"SIGN_PARAM_INVALID","message":"credential signature verification failed"}}')
add(L, "formats: real-time item of the js-sdk wrapper", rt(["signInWithCustomTicket", {"code": "NETWORK_ERROR", "msg": "refresh access_token failed：SIGN_PARAM_INVALID"}]))
add(L, "utilities: printError with secret id error", dev("[@cloudbase/js-sdk][SIGN_PARAM_INVALID]:secret id error"))
add(L, "issue 11 class 4: secret id error only", cls("callFunction failed: secret id error", level="ERROR"))
add(L, "node-sdk: key without env_id in stackTrace", exc("Error: 当前私钥未包含env_id 信息， 请前往腾讯云云开发控制台，获取自定义登录最新私钥"))
add(L, "issue 11 class 1: code after a colon", node("init check failed: SIGN_PARAM_INVALID"))

add(N, "alert config", "alert on: SIGN_PARAM_INVALID, SYSTEM_NOT_OPEN, INVALID_TICKET")
add(N, "comment", "// SIGN_PARAM_INVALID: credential signature verification failed -> key from another env")
add(N, "source code", 'const SIGN_PARAM_INVALID_HINT = "re-download the key from the target environment"')
add(N, "guide: debug log line", node("[getLoginTicket] cred env: prod-1g2h3j4k"))
add(N, "guide: debug log line", node("[getLoginTicket] init env: prod-1g2h3j4k"))
add(N, "wx-server-sdk source: storage code table", "    STORAGE_SIGN_PARAM_INVALID: -503004,")
add(N, "guide: heading", "Error 8 — Signature error / SIGN_PARAM_INVALID")
add(N, "js-sdk minified source", 'case"SIGN_INVALID_ERROR":case"SIGN_PARAM_INVALID":return this.rebuildWatch(),[2];')
add(N, "help text", "hint: SIGN_PARAM_INVALID means the key and env differ; compare cred.env with TCB_ENV")
add(N, "node-sdk source line", "      throw E({ ...ERROR.INVALID_PARAM, message: '当前私钥所属环境与 init 指定环境不一致！' })")
add("unlisted", "wx-server: storage sign parameter (not the login key)", '{"errCode":-503004,"errMsg":"storage invalid sign parameter"}')

# ---------------------------------------------------------------- 9 sdk_version_mismatch
L = "sdk_version_mismatch"
add(L, "guide: symptom", "TypeError: cloudbase.useAdapters is not a function")
add(L, "guide: symptom", "TypeError: app.auth is not a function")
add(L, "formats: DevTools prefix, babel interop", dev("TypeError: _js_sdk.default.useAdapters is not a function"))
add(L, "formats: real-time App.onError", rt(["App.onError", "TypeError: app.auth is not a function\n    at ensureLogin (pages/index/index.js:12:20)"], url="pages/index/index"))
add(L, "devtools: older one-line form", "TypeError: cloudbase.useAdapters is not a function;at App lifeCycleMethod onLaunch function")
add(L, "devtools: uncaught", "Uncaught TypeError: app.auth is not a function")
add(L, "formats: real-time, babel interop", rt(["App.onError", "TypeError: _cloudbase.default.useAdapters is not a function"]))
add(L, "devtools: bare message line of a MiniProgramError block", "cloudbase.useAdapters is not a function")
add(L, "devtools: bare message line of a MiniProgramError block", "app.auth is not a function")
add(L, "devtools: another receiver", dev("TypeError: tcb.auth is not a function"))
add(L, "issue 11 class 1: console.error(label, err)", "init failed TypeError: cloudbase.useAdapters is not a function")
add(L, "devtools: thirdScriptError one-line", "thirdScriptError cloudbase.useAdapters is not a function;at app.js line 5 column 11")
add(L, "babel: (0, _x.default) receiver", "TypeError: (0 , _jsSdk.default).useAdapters is not a function")
add(L, "webpack: default() receiver", "TypeError: _cloudbase_js_sdk__WEBPACK_IMPORTED_MODULE_0___default().useAdapters is not a function")
add(L, "devtools: this.app", "TypeError: this.app.auth is not a function")
add(L, "minified receiver", rt(["App.onError", "TypeError: e.useAdapters is not a function"]))

add(N, "comment", "// TypeError: cloudbase.useAdapters is not a function -> js-sdk v3 is installed")
add(N, "guide: heading", "Error 9 — auth is not a function (Mini Program side)")
add(N, "guide: root cause", "@cloudbase/js-sdk@next (v3) is installed — the built-in adapter removed the useAdapters method")
add(N, "source code", "if (typeof app.auth !== 'function') console.warn('js-sdk 1.x installed?')")
add(N, "help text", "hint: app.auth is not a function means js-sdk 1.x; pin 2.27.3")
add(N, "install log", "npm install --save @cloudbase/js-sdk@2.27.3 @cloudbase/adapter-wx_mp@1.3.1")
add("unlisted", "issue 11 class 6: TypeError of another callee", "TypeError: app.authorize is not a function")
add("unlisted", "issue 11 class 6: TypeError of another callee", dev("TypeError: wx.getUserProfile is not a function"))
add("unlisted", "issue 11 class 6: TypeError of another callee", "TypeError: oauth is not a function")
add("unlisted", "issue 11 class 6: reading a property of undefined", rt(["App.onError", "TypeError: Cannot read property 'openid' of undefined\n    at pages/login/login.js:30:22"]))
add("unlisted", "issue 11 class 6: node TypeError in a cloud function", exc("TypeError: Cannot read properties of undefined (reading 'openid')"))
add("unlisted", "issue 11 class 6: uncaught TypeError in DevTools", "Uncaught TypeError: Cannot read properties of null (reading 'ticket')")

# ---------------------------------------------------------------- 10 unauthorized_after_login
L = "unauthorized_after_login"
add(L, "guide: symptom", "{ code: 'UNAUTHORIZED', message: 'unauthorized' }")
add(L, "formats: OPERATION_FAIL server code", 'Error: {"code":"OPERATION_FAIL","msg":"[PERMISSION_DENIED] permission denied"}')
add(L, "oauth 2.27.2 ErrorType permission_denied", '{"error":"permission_denied","error_code":3,"error_description":"permission denied"}')
add(L, "formats: real-time DATABASE_PERMISSION_DENIED", rt(["db get failed", {"code": "DATABASE_PERMISSION_DENIED", "message": "Permission denied"}], url="pages/list/list"))
add(L, "oauth 2.27.2 ErrorType unauthenticated", '{"error":"unauthenticated","error_code":16,"error_description":"credentials not found"}')
add(L, "issue 11 class 4 / wx-server-sdk: errCode -502003 formatting", "Error: errCode: -502003 database permission denied | errMsg: Permission denied")
add(L, "issue 11 class 4: wx.cloud collection.get fail", "collection.get:fail -502003 database permission denied | errMsg: Permission denied")
add(L, "issue 11 class 4: wx.cloud errCode object in a real-time item", rt(["db get failed", {"errCode": -502003, "errMsg": "collection.get:fail -502003 database permission denied | errMsg: Permission denied"}], url="pages/list/list"))
add(L, "issue 11 class 1: console.error(label, err.code)", "db.collection('orders').get() failed UNAUTHORIZED")
add(L, "issue 11 class 1: parentheses after a Chinese sentence", "查询失败（PERMISSION_DENIED）")
add(L, "utilities: printError", dev("[@cloudbase/js-sdk][UNAUTHORIZED]:unauthorized"))
add(L, "wx-server-sdk formatting, uncaught in promise", "Uncaught (in promise) Error: errCode: -502003 database permission denied | errMsg: Permission denied")
add(L, "issue 11 class 1: code after a colon", "get failed: DATABASE_PERMISSION_DENIED")
add(L, "issue 11 class 5: bare code as a msg array element", rt(["callFunction failed", "UNAUTHORIZED"], url="pages/list/list"))
add(L, "wx.cloud document.get fail", "document.get:fail -502003 database permission denied | errMsg: Permission denied")
add(L, "wx.cloud errCode object", '{"errCode":-502003,"errMsg":"collection.where.get:fail -502003 database permission denied | errMsg: Permission denied"}')

add(N, "permission model note", "permission model: UNAUTHORIZED means the role lacks a policy, not that login failed")
add(N, "comment", '// { code: "UNAUTHORIZED" } after login -> check collection permissions')
add(N, "guide: heading", "Error 10 — Login succeeds but subsequent database / Cloud Function calls return UNAUTHORIZED")
add(N, "guide: fix", "Console → Database → Collection → Permission Settings → All users can read")
add(N, "wx-server-sdk source line", "    TCB_DB_PERMISSION_DENIED: -502003,")
add(N, "prometheus exposition", 'authwatch_errors_total{pattern="unauthorized_after_login",code="PERMISSION_DENIED"} 2')
add(N, "status line", "[list] no UNAUTHORIZED since permissions were relaxed")
add(N, "oauth source line", "  PERMISSION_DENIED = 'permission_denied',")
add("unlisted", "oauth: unauthorized_client (another error)", '{"error":"unauthorized_client","error_description":"client is not allowed to use this grant type"}')
add("unlisted", "oauth: upper-case unauthorized_client", '{"error":"UNAUTHORIZED_CLIENT"}')
add("unlisted", "wx-server-sdk: storage permission denied", "Error: errCode: -503002 storage permission denied | errMsg: Permission denied")
add("unlisted", "wx-server-sdk: collection not exists", "Error: errCode: -502005 database collection not exists | errMsg: [ResourceNotFound] Db or Table not exist. Please check your request")
add("unlisted", "issue 11 class 6: wx.cloud other errCode", '{"errCode":-501007,"errMsg":"cloud.callFunction:fail -501007 invalid parameters"}')

# ---------------------------------------------------------------- unlisted (general)
U = "unlisted"
add(U, "formats: SCF timeout exception", exc("", status=433, msg="Invoking task timed out after 3 seconds").replace('"stackTrace":"\\n    at exports.main (/var/user/index.js:21:31)"', '"stackTrace":""'))
add(U, "formats: CLS ERROR level record", cls("db.collection(login_ticket_cache).add failed: DATABASE_REQUEST_FAILED", level="ERROR"))
add(U, "formats: CLS platform Report of a 433", '{"SCF_FunctionName":"getLoginTicket","SCF_StartTime":"1741915325117","SCF_LogTime":"1741915328117000000","SCF_RequestId":"8f4c0b5e-0a1b-4c2d-9e3f-123456789abc","SCF_Message":"Report RequestId: 8f4c0b5e-0a1b-4c2d-9e3f-123456789abc Duration:3000ms Memory:256MB MaxMemoryUsed:31.417969MB","SCF_Type":"Platform","SCF_StatusCode":"433"}')
add(U, "formats: real-time item with the error bit", rt(["requestPayment fail", "cancel"], url="pages/pay/pay"))
add(U, "formats: SCF memory limit", exc("", status=434, msg="memory limit exceeded").replace('"stackTrace":"\\n    at exports.main (/var/user/index.js:21:31)"', '"stackTrace":""'))
add(U, "wx-server-sdk: cloud function execution error", "Error: errCode: -404011 cloud function execution error | errMsg: cloud.callFunction:fail requestID 8f4c0b5e, cloud function service error code -504002, error message Function not found")
add(U, "issue 11 class 6: uncaught ReferenceError in Node", exc("ReferenceError: cloud is not defined"))
add(U, "wx-server-sdk: invalid env", "Error: errCode: -501005 invalid env | errMsg: Environment not found")
add(U, "node20: SyntaxError from JSON.parse of the answer", node("SyntaxError: Unexpected token < in JSON at position 0"))

# ---------------------------------------------------------------- none (general)
add(N, "formats: START line", f"START RequestId: {RID}")
add(N, "formats: END line", f"END RequestId: {RID}")
add(N, "formats: Report line", f"Report RequestId: {RID} Duration:188ms Memory:256MB MaxMemoryUsed:31.417969MB")
add(N, "formats: Report, second variant", f"Report RequestId:{RID32} Duration:188ms MemUsage:12.1MB")
add(N, "formats: successful Response", f'Response RequestId:{RID32} RetMsg:{{"statusCode":200,"ticket":"redacted"}}')
add(N, "formats: CLS INFO record", cls("[getLoginTicket] ticket length: 472", level="INFO"))
add(N, "formats: real-time info/warn item", dumps({"level": 6, "platform": 2, "libraryVersion": "3.7.8", "clientVersion": "8.0.56", "id": OPENID, "timestamp": 1741915325, "url": "pages/login/login", "msg": [{"time": 1741915325117, "level": 2, "msg": ["login ok"]}, {"time": 1741915325118, "level": 4, "msg": ["slow network"]}], "traceid": "7f1c2d3e4b5a", "filterMsg": ""}))
add(N, "comment", "# errcode -1 means system busy: retry once")
add(N, "formats: tcb fn log block", "调用状态：成功")
add(N, "formats: tcb fn log success result", '返回结果：{"ticket":"redacted","expiresIn":600}')
add(N, "prometheus HELP line", "# HELP authwatch_errors_total Error lines per pattern (errcode 40029, 45011, …).")
add(N, "prometheus exposition, unlisted", 'authwatch_errors_total{pattern="unlisted",errcode="40226"} 1')
add(N, "markdown table row of a runbook", "| 45011 | api minute-quota reach limit | add a ticket cache |")
add(N, "ok status from the app", node("[getLoginTicket] signInWithCustomTicket ok, uid=oX1Yz2Ab3Cd4Ef5Gh6Ij7Kl8Mn9O"))
add(N, "DevTools info line", dev("[system] WeChatLib: 3.7.8 (2025.3.10 16:21:18)"))
add(N, "DevTools deprecation warning", dev("[Deprecation] wx.getSystemInfoSync is deprecated. Please use wx.getSystemSetting/wx.getAppAuthorizeSetting/wx.getDeviceInfo/wx.getWindowInfo/wx.getAppBaseInfo instead."))
add(N, "node20 ok log", node("jscode2session ok { openid: 'oX1Y…', session_key: 'redacted' }"))
add(N, "wx-server-sdk ok", node("db add ok { _id: '6f1c2d3e4b5a', errMsg: 'collection.add:ok' }"))
add(N, "real-time info item mentioning a code in help text", dumps({"level": 2, "platform": 2, "libraryVersion": "3.7.8", "clientVersion": "8.0.56", "id": OPENID, "timestamp": 1741915325, "url": "pages/help/help", "msg": [{"time": 1741915325117, "level": 2, "msg": ["help page opened: errcode 40029 explained"]}], "traceid": "7f1c2d3e4b5a", "filterMsg": ""}))
add(N, "markdown docs listing errors", "- `INVALID_TICKET` / `TICKET_EXPIRED`: re-download tcb_custom_login.json")
add(N, "changelog line", "fix: handle SYSTEM_NOT_OPEN gracefully in the login page (#42)")
add(N, "git log line", "a1b2c3d retry jscode2session on 45011 with backoff")
add(N, "test name", "test login::rejects_reused_code_40029 ... ok")

# ---------------------------------------------------------------- second batch
# Written after the first patterns passed, before changing them again: shapes not tuned on.
add("ticket_invalid", "devtools: console.error of the error object (Chrome-style inspect)", dev('signInWithCustomTicket {code: "INVALID_TICKET", message: "ticket is invalid or expired"}'))
add("ticket_invalid", "issue 11 class 1: code after a colon, label not a failure word", "signIn result: INVALID_TICKET (retrying once)")
add("ticket_invalid", "issue 11 class 1: code after a Chinese error-code label", "登录失败，错误码：TICKET_EXPIRED")
add("ticket_invalid", "issue 11 class 1: parentheses with a code label", "Login rejected by CloudBase (code: AUTH_INVALID_CUSTOM_LOGIN_TICKET)")
add("ticket_invalid", "oauth: OAuth answer with another description of the ticket (wording inferred)", '{"error":"invalid_grant","error_code":4,"error_description":"custom ticket expired"}')
add("ticket_invalid", "oauth: AuthError, another description (wording inferred)", rt(["signInWithCustomTicket", "AuthError: invalid custom ticket"]))
add("custom_login_disabled", "oauth: AuthError, another description (wording inferred)", dev("AuthError: custom login is disabled"))
add("custom_login_disabled", "issue 11 class 1: code after a Chinese error-code label", "登录失败，错误码：SYSTEM_NOT_OPEN")
add("custom_login_disabled", "issue 11 class 1: parentheses with a code label", "Custom login refused (code SYSTEM_NOT_OPEN)")
add("custom_login_disabled", "node20: a line of a multi-line util.inspect", "  code: 'SYSTEM_NOT_OPEN',")
add("custom_login_disabled", "utilities: printError object as DevTools prints it", dev('{code: "LOGIN_MANNER_UNREGISTED", msg: "[@cloudbase/js-sdk][LOGIN_MANNER_UNREGISTED]:login manner unregistered"}'))
add("wx_40029_invalid_code", "issue 11 class 1: code after a Chinese error-code label", node("code2session 失败，错误码：40029"))
add("wx_40029_invalid_code", "issue 11 class 1: parentheses with errcode and colon", node("login failed (errcode: 40163)"))
add("wx_40029_invalid_code", "formats: SCF exception whose errorMessage is the thrown answer", dumps({"errorCode": -1, "errorMessage": '{"errcode":40029,"errmsg":"invalid code, rid: 67d3855a-1b2c3d4e-5f607182"}', "requestId": RID, "stackTrace": "", "statusCode": 430}))
add("wx_40029_invalid_code", "formats: CLS, util.inspect line of a multi-line object", cls("  errcode: 40029,", level="ERROR"))
add("wx_45011_minute_quota", "issue 11 class 1: code after a Chinese error-code label", node("jscode2session 调用失败 错误码：45011"))
add("wx_45011_minute_quota", "issue 11 class 1: parentheses with errcode and colon", node("rate limited (errcode: 45011)"))
add("wx_45011_minute_quota", "formats: Response RetMsg of a function that returns the answer", f'Response RequestId:{RID32} RetMsg:{{"errcode":45011,"errmsg":"api minute-quota reach limit, must slower, retry next minute, rid: 67d3855a-4e5f6071-82930415"}}')
add("wx_45011_minute_quota", "formats: tcb fn log 返回结果 of a thrown answer", '返回结果：{"errorCode":-1,"errorMessage":"{\\"errcode\\":45011,\\"errmsg\\":\\"api minute-quota reach limit\\"}","statusCode":430}')
add("custom_user_id_invalid", "node20: Error stack line in Node console format", node('Error: Invalid uid: "undefined"    at validateUid (/var/user/node_modules/@cloudbase/node-sdk/lib/auth/index.js:22:15)'))
add("custom_user_id_invalid", "node20: uncaught TcbError printed by the runtime", 'Uncaught TcbError: Invalid uid: "null"')
add("sign_param_invalid", "issue 11 class 1: code after a Chinese error-code label", node("签发 ticket 失败，错误码：SIGN_PARAM_INVALID"))
add("sign_param_invalid", "node-sdk: util.inspect message line", node("  message: '当前私钥未包含env_id 信息， 请前往腾讯云云开发控制台，获取自定义登录最新私钥'"))
add("sign_param_invalid", "issue 11 class 4: secret id error inside an OPERATION_FAIL", 'Error: {"code":"OPERATION_FAIL","msg":"[SIGN_PARAM_INVALID] secret id error"}')
add("domain_not_allowlisted", "devtools: domain check header", "request 合法域名校验出错")
add("domain_not_allowlisted", "issue 11 class 4: uploadFile via wx.cloud adapter", rt(["uploadFile fail", {"errMsg": "uploadFile:fail url not in domain list"}], url="pages/me/me"))
add("sdk_version_mismatch", "devtools: init(...).auth receiver", "TypeError: cloudbase.init(...).auth is not a function")
add("sdk_version_mismatch", "devtools: minified, uncaught in promise", "Uncaught (in promise) TypeError: t.auth is not a function")
add("mp_require_undefined", "devtools: MiniProgramError header then message on one line", "MiniProgramError require is not defined ReferenceError: require is not defined")
add("mp_require_undefined", "devtools: npm not built, English DevTools", dev("Error: module 'miniprogram_npm/@cloudbase/js-sdk/index.js' is not defined, require args is '@cloudbase/js-sdk'"))
add("unauthorized_after_login", "issue 11 class 1: code after a Chinese error-code label", "读取订单失败，错误码：PERMISSION_DENIED")
add("unauthorized_after_login", "wx.cloud errCode in a Chrome-style object", dev('{errCode: -502003, errMsg: "collection.get:fail -502003 database permission denied | errMsg: Permission denied"}'))
add("unauthorized_after_login", "node-sdk inspect line", node("  code: 'DATABASE_PERMISSION_DENIED',"))
add("unlisted", "wx-server-sdk: function not found", "Error: errCode: -501000 | errMsg: [ResourceNotFound.Function] 未找到指定的Function，请创建后再试。")
add("unlisted", "devtools: uncaught TypeError in promise", "Uncaught (in promise) TypeError: Cannot read property 'data' of undefined")
add("unlisted", "SCF: user code exception with a plain Error", exc("Error: ticket service unavailable"))
add("unlisted", "oauth: invalid_password", '{"error":"invalid_password","error_code":4,"error_description":"password is incorrect"}')
add(N, "guide: heading without the number", "WeChat returns errcode: 40029")
add(N, "guide: heading without the number", "2. WeChat returns errcode: 45011")
add(N, "help line behind a tag", node("[getLoginTicket] tip: 45011 means the per-minute quota is hit; cache tickets"))
add(N, "Chinese help line", node("[getLoginTicket] 提示：如果出现 errcode: 40029，请重新调用 wx.login"))
add(N, "Chinese help line", "如果返回 SYSTEM_NOT_OPEN，请在控制台开启自定义登录")
add(N, "prometheus exposition without labels", "authwatch_45011_onset_attempts_per_minute 42")
add(N, "prometheus exposition, sign", 'authwatch_errors_total{pattern="sign_param_invalid",code="SIGN_PARAM_INVALID"} 1 1741915325117')
add(N, "docs: table of contents line", "- Error 8 — Signature error / SIGN_PARAM_INVALID")
add(N, "runbook line behind a tag", "[runbook] Fix: re-download tcb_custom_login.json when you see INVALID_TICKET")
add(N, "dashboard panel title", "panel: 45011 per minute vs login attempts per minute")
add(N, "cached ticket note", node("[getLoginTicket] cached ticket expired, signing a new one"))
add(N, "ok response", f'Response RequestId:{RID32} RetMsg:{{"errcode":0,"errmsg":"ok","ticket":"redacted"}}')
add(N, "source code in a stack frame", "    at validateUid (/var/user/node_modules/@cloudbase/node-sdk/lib/auth/index.js:22:15)")
add(N, "source code", "  if (!checkCustomUserIdRegex.test(uid)) { throw E({ ...ERROR.INVALID_PARAM, message: `Invalid uid: \"${uid}\"` }) }")
add(N, "source code", "    case 'SYSTEM_NOT_OPEN': return showEnableCustomLoginTip()")
add(N, "test output", "    ✓ maps SYSTEM_NOT_OPEN to the enable-login tip (3 ms)")
add(N, "commit message in a deploy log", "deploy: getLoginTicket v42 (handle 45011 with a ticket cache)")

# ---------------------------------------------------------------- third batch
# Written after the second round of changes, before running it: CLS CSV export rows and more shapes.


def csv_row(msg, level="INFO", status="200"):
    # formats: CLS CSV download, RFC 4180 quoting (a quote inside a value is doubled). Column order unverified.
    vals = ["getLoginTicket", "prod-1g2h3j4k", "1741915325117", "1741915325310000000", RID, level, msg, "Custom", status]
    return ",".join('"' + v.replace('"', '""') + '"' for v in vals)


add("wx_45011_minute_quota", "formats: CLS CSV row, doubled quotes", csv_row(node('jscode2session {"errcode":45011,"errmsg":"api minute-quota reach limit, must slower, retry next minute, rid: 67d3855a-4e5f6071-82930415"}')))
add("wx_40029_invalid_code", "formats: CLS CSV row, doubled quotes", csv_row(node('jscode2session {"errcode":40029,"errmsg":"invalid code, rid: 67d3855a-1b2c3d4e-5f607182"}')))
add("sign_param_invalid", "formats: CLS CSV row, doubled quotes", csv_row('createTicket failed {"code":"SIGN_PARAM_INVALID","message":"signature is expired"}', level="ERROR"))
add("unlisted", "formats: CLS CSV row, doubled quotes, 40226", csv_row('jscode2session {"errcode":40226,"errmsg":"code blocked, rid: 67d3855a-3d4e5f60-71829304"}', level="ERROR"))
add(N, "formats: CLS CSV header row", "SCF_FunctionName,SCF_Namespace,SCF_StartTime,SCF_LogTime,SCF_RequestId,SCF_Level,SCF_Message,SCF_Type,SCF_StatusCode")
add(N, "formats: CLS CSV row, ok", csv_row(node('jscode2session {"errcode":0,"errmsg":"ok"}')))
add("custom_user_id_invalid", "formats: CLS CSV row", csv_row('Error: Invalid uid: "undefined"', level="ERROR"))
add("wx_45011_minute_quota", "formats: SCF exception, errorMessage of a thrown util.inspect", dumps({"errorCode": -1, "errorMessage": "jscode2session failed { errcode: 45011, errmsg: 'api minute-quota reach limit' }", "requestId": RID, "stackTrace": "Error: jscode2session failed { errcode: 45011, errmsg: 'api minute-quota reach limit' }\n    at exports.main (/var/user/index.js:18:11)", "statusCode": 430}))
add("wx_40029_invalid_code", "node20: nested util.inspect", node("login failed { step: 'code2session', data: { errcode: 40029, errmsg: 'invalid code, rid: 67d3855a-1b2c3d4e-5f607182' } }"))
add("wx_40029_invalid_code", "formats: tcb fn log 日志 line", "日志：2025-03-14T01:22:05.301Z\t8f4c0b5e-0a1b-4c2d-9e3f-123456789abc\tjscode2session {\"errcode\":40163,\"errmsg\":\"code been used, rid: 67d3855a-2c3d4e5f-60718293\"}".replace("\\t", "\t").replace('\\"', '"'))
add("ticket_invalid", "devtools: printGroupLog title line then error (one line)", "自定义登录失败 Error: [INVALID_TICKET] ticket is invalid or expired")
add("ticket_invalid", "node20: inspect line of a js-sdk error in a cloud function calling signIn", node("  code: 'TICKET_EXPIRED',"))
add("custom_login_disabled", "utilities: printWarn form", dev("[@cloudbase/js-sdk][LOGIN_MANNER_UNREGISTED]:login manner unregistered"))
add("custom_login_disabled", "oauth: AuthError status in a real-time item", rt(["signInWithCustomTicket error", {"status": "login_type_disabled", "code": 9, "message": "custom login is not enabled"}]))
add("domain_not_allowlisted", "devtools: older `;at` suffix", "request:fail url not in domain list;at api request fail callback function")
add("domain_not_allowlisted", "js-sdk: wx.request failure wrapped by the adapter", "[@cloudbase/js-sdk][NETWORK_ERROR]:request:fail url not in domain list, url: https://prod-1g2h3j4k.service.tcloudbase.com/getLoginTicket")
add("sdk_version_mismatch", "devtools: js-sdk v3 named import", dev("TypeError: _cloudbase_js_sdk.useAdapters is not a function"))
add("sdk_version_mismatch", "real-time: MiniProgramError block element", rt(["MiniProgramError", "app.auth is not a function"], url="pages/index/index"))
add("mp_require_undefined", "devtools: npm not built, page lifecycle `;at`", "module \"miniprogram_npm/@cloudbase/js-sdk/index.js\" is not defined, require args is '@cloudbase/js-sdk';at \"pages/login/login\" page lifeCycleMethod onLoad function")
add("mp_require_undefined", "real-time: App.onError with the npm-not-built message", rt(["App.onError", "module 'miniprogram_npm/@cloudbase/adapter-wx_mp/index.js' is not defined, require args is '@cloudbase/adapter-wx_mp'"]))
add("unauthorized_after_login", "wx.cloud: callFunction refused after login", "cloud.callFunction:fail Error: {\"code\":\"UNAUTHORIZED\",\"message\":\"unauthorized\"}")
add("unauthorized_after_login", "js-sdk: db get failed, free text", dev("db.collection('orders').get fail PERMISSION_DENIED permission denied"))
add("sign_param_invalid", "js-sdk: refresh access_token failed, printed as object", dev('{code: "NETWORK_ERROR", msg: "refresh access_token failed：SIGN_PARAM_INVALID"}'))
add("unlisted", "SCF: user code exception with a 40226 in stackTrace", exc('Error: {"errcode":40226,"errmsg":"code blocked, rid: 67d3855a-3d4e5f60-71829304"}'))
add("unlisted", "devtools: uncaught RangeError", "Uncaught RangeError: Maximum call stack size exceeded")
add("unlisted", "wx-server-sdk: invalid param", "Error: errCode: -501007 invalid parameters | errMsg: Invalid param: collection name is required")
add(N, "devtools: MiniProgramError header line", "MiniProgramError")
add(N, "devtools: stack frame of a block", "    at http://127.0.0.1:26397/appservice/app.js:3:16")
add(N, "help text in a log line", node("[getLoginTicket] 45011 seen at 120 logins/min in last load test, cache added"))
add(N, "docs: table of contents", "Error 3 — WeChat returns errcode: 45011 ..... 4")
add(N, "explain output of authwatch", "wx_45011_minute_quota (guide error 3): jscode2session hit its per-minute rate limit (errcode 45011, api minute-quota reach limit).")
add(N, "runbook line with arrow", "SYSTEM_NOT_OPEN → Console → Authentication → Login Methods → Custom Login → Enable")
add(N, "grafana annotation", "annotation: deploy getLoginTicket v43 (ticket cache, fixes 45011)")
add(N, "source code comment at end of code", "const TICKET_TTL_MS = 5 * 60 * 1000; // 45011: cache tickets")
add(N, "unit test name", "✓ returns WX_API_ERROR on errcode 40029 (12 ms)")
add(N, "retry log line: cleared", node("[getLoginTicket] 45011 cleared after 60s, resuming"))

add("wx_45011_minute_quota", "a banner around the error (not source code)", node("===== jscode2session failed: 45011 ====="))
add(N, "source code with spaced comparison", "if (res.errcode !== 0 && res.errcode === 45011) await sleep(60000)")

# ---------------------------------------------------------------- fourth batch (return words, reversed Chinese)
add("wx_40029_invalid_code", "free text: the code after a return word", node("jscode2session returned 40029 (invalid code)"))
add("wx_45011_minute_quota", "free text: Chinese return word", node("code2Session 返回 45011"))
add("custom_login_disabled", "Chinese: reversed word order", "登录失败：当前环境未开启自定义登录")
add(N, "stats dump of codes", node("[stats] errors: { INVALID_TICKET: 3, SYSTEM_NOT_OPEN: 1 }"))
add(N, "metric-like key", node("[metrics] 45011_count=0 40029_count=0"))
add(N, "retry log line", "login attempt 3/5 failed, retrying")
add(N, "guide heading with a return word", "WeChat returns errcode: 45011")

# ---------------------------------------------------------------- fifth batch: lines pasted in public issue threads
# github.com/zjxxxxxxxxx/axios-miniprogram/issues/52 and /57 (npm not built), ali-sdk/ali-oss/issues/851,
# lizhiyao/sentry-miniapp/issues/90, wechat-miniprogram/miniprogram-demo/issues/67 (a wrong relative path).
I52 = "issue thread axios-miniprogram#52 (DevTools console pasted)"
add("mp_require_undefined", I52, " Error: module 'kits/fetch/axios-miniprogram.js' is not defined, require args is 'axios-miniprogram'")
add("mp_require_undefined", "issue thread axios-miniprogram#57", "module 'utils/axios-miniprogram.js' is not defined, require args is 'axios-miniprogram'")
add("mp_require_undefined", "issue thread ali-oss#851", 'module "miniprogram_npm/debug/tty.js" is not defined')
add("mp_require_undefined", "issue thread ali-oss#851", 'Error: module "miniprogram_npm/debug/tty.js" is not defined')
add("mp_require_undefined", "issue thread sentry-miniapp#90", "Error: module 'miniprogram_npm/@sentry/utils/stacktrace.js' is not defined, require args is '../utils/stacktrace.js'")
add("unlisted", "issue thread miniprogram-demo#67: a relative path that does not exist", "WAServiceMainContext.js?t=wechat&s=1665104935587&v=2.26.0:1 Error: module 'packageAPI/pages/ar/visionkit-basic-v2/threejs-miniprogram.js' is not defined, require args is './threejs-miniprogram'")
add(N, I52, "app.js错误:")
add(N, I52, "    at q (WASubContext.js?t=wechat&s=1700653677994&v=2.32.3:1)")
add(N, I52, "[system] WeChatLib: 2.32.3 (2023.11.20 23:35:17)")
add(N, I52, "[Deprecation] SharedArrayBuffer will require cross-origin isolation as of M92, around July 2021. See https://developer.chrome.com/blog/enabling-shared-array-buffer/ for more details.")
add(N, I52, 'Current Wechat version do not support asynchronous getSystemInfo. "wx.getSystemInfoAsync" will be finished by synchronous implementation.')
add(N, "issue thread miniprogram-demo#67", "    at VM9 asdebug.js:10(env: macOS,mp,1.06.2209070; lib: 2.26.0)")
add(N, "issue thread miniprogram-demo#67", "errorReport @ WAServiceMainContext.js?t=wechat&s=1665104935587&v=2.26.0:1")
add(N, "issue thread miniprogram-demo#67", "thirdErrorReport @ WAServiceMainContext.js?t=wechat&s=1665104935587&v=2.26.0:1")
add(N, "issue thread ali-oss#851", "VM190:1 MiniProgramError")

# ---------------------------------------------------------------- sixth batch: WeChat 40029 as other programs' logs print it
# (issue threads: cordova-plugin-wechat#266, WxJava#458, weixin-java-tools#223, wx-tools#15, WeiXinMPSDK#252, wepy-mall#64)
add("wx_40029_invalid_code", "issue thread cordova-plugin-wechat#266", 'reponse content:{"errcode":40029,"errmsg":"invalid code, hints: [ req_id: AwanVA0259s113 ]"}')
add("wx_40029_invalid_code", "issue thread WxJava#458 (Java logger line)", '【错误信息】：{"errcode":40029,"errmsg":"invalid code, hints: [ req_id: N37KMa0605th21 ]"}')
add("wx_40029_invalid_code", "issue thread weixin-java-tools#223", "【微信错误 errcode=40029, errmsg=invalid code】")
add("wx_40029_invalid_code", "issue thread wx-tools#15", "WxError [errcode=40029, errmsg=invalid code, json={\"errcode\":40029,\"errmsg\":\"invalid code\"}]")
add("wx_40029_invalid_code", "issue thread WeiXinMPSDK#252 (code-dash-message form)", node("OAuth failed: 40029-invalid code"))
add("wx_40029_invalid_code", "issue thread wepy-mall#64 (错误码 without a colon)", "获取用户openid时错误码40029")
add(N, "issue thread WxJava#458: the request line before the error", "【请求参数】：js_code=021ByuFs0fNXie1T5lJs0IwBFs0ByuF1&secret=xxxxxxxxxxxxx&grant_type=authorization_code&appid=xxxxxxxxxxxxxxx")

# ---------------------------------------------------------------- seventh batch: domain allowlist as pasted in issue threads
# (weapp-artand#6, wepy-mall#72, WxComment#6, wechat-weapp-lifeTools#2)
add("domain_not_allowlisted", "issue thread weapp-artand#6 (VM prefix, two spaces)", "VM90:1  http://ios1.artand.cn 不在以下 request 合法域名列表中")
add("domain_not_allowlisted", "issue thread wechat-weapp-lifeTools#2 (older DevTools, no list kind)", "http://apistore.baidu.com 不在以下合法域名列表中")
add("domain_not_allowlisted", "issue thread WxComment#6", "request:fail url not in domain list")
add(N, "issue thread wepy-mall#72: DevTools hint printed beside the error", "如若已在管理后台更新域名配置，请刷新项目配置后重新编译项目，操作路径：“详情-域名信息”")
add(N, "issue thread WxComment#6: a list of domains the app should allow", "app-router.leancloud.cn")

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "corpus.jsonl"), "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")

from collections import Counter

c = Counter(r["label"] for r in rows)
print(len(rows), dict(sorted(c.items())))
