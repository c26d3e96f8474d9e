"""Credit lines as Chinese, Japanese and Korean news print them, for a plain text's header.

A CJK name has no capitals to tell it from a short sentence, so a line is a credit only by its
label: before the names (``记者 张三``, ``作者：张三``, ``文＝山田太郎``, ``取材・文／山田太郎``,
``글 홍길동``) or after them (``山田太郎 著``, ``홍길동 기자``). A line may credit several roles
(``文：山田太郎、写真：鈴木一郎``, ``Eric Freeman 著、嶋田 健志 監訳、木下 哲也 訳``): the writers
are the authors; a photographer, a translator or an editor is none, as "Photos by" and "Editing
by" are none in an English byline.

Names are split at ``、，,;`` and "and" (``和 与 及 と 및``); a space separates names where each side
is a whole name (Chinese papers' ``记者 张三 李四``, Korean ``홍길동 김철수 기자``) but is part of a
Japanese name (``嶋田 健志``).
"""

from __future__ import annotations

import functools
import re

# Labels of those who wrote the text ("记者" reporter, "作者" author, "撰文"/"文" text, "執筆" writing,
# "筆者"/"著者" author, "글" text, "기자" reporter), a news agency's or paper's reporter
# ("新华社记者", "本报记者"), and of roles that are no authorship.
_WRITER = (r"[^\s：:＝=／/|｜]{0,8}?(?:记者|記者)|作者|撰文|撰稿|采写|采访|文字|执笔|執筆|筆者|著者|"
           r"取材・文|取材・執筆|文・写真|写真・文|文|ライター|글·사진|글|기자|작성자")
_OTHER = r"摄影|攝影|写真|撮影|图|圖|编辑|編集|责任编辑|責任編輯|校对|翻译|翻譯|訳|译|監訳|监译|사진|편집|번역"
_SEP = r"\s*[：:＝=／/|｜●・]\s*|\s+"
_LABEL_FIRST = re.compile(rf"(?P<label>{_WRITER}|{_OTHER})(?:{_SEP})(?P<names>.+)")
_AFTER = r"记者|記者|特派员|特派員|기자|특파원"  # after the names: reporter, correspondent
_LABEL_AFTER = re.compile(rf"(?P<names>.+?)(?:\s*(?P<label>{_AFTER}|{_OTHER})|\s+(?P<book>著))")  # "a name 著": by
_WRITERS = re.compile(rf"(?:{_WRITER})|{_AFTER}|著")
_PARTS = re.compile(r"\s*[、，,;；]\s*")
_AND = re.compile(r"\s*(?:和|与|與|及|と|및)\s*")
# One name: two to five Han characters (a family and a given name may stand apart: "嶋田 健志"), a
# Japanese name with kana (a katakana name's parts joined by ・), two to five Hangul syllables, or
# capitalised Latin words ("Eric Freeman"). A longer run of characters is a phrase, no name.
_H = "\u3005\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_K = "\u3040-\u30ff\u30fc\u30fb\u00b7"
_HAN = re.compile(rf"[{_H}]{{2,5}}")  # a name of Han characters only (a label of them too)
_HANGUL = re.compile(r"[\uac00-\ud7af]{2,5}")
_NAME = re.compile(rf"[{_H}]{{2,5}}|[{_H}]{{1,3}} [{_H}]{{1,3}}|"
                   rf"(?=[^ ]*[{_K}])[{_H}{_K}]{{2,12}}(?: [{_H}{_K}]{{1,6}})?|"
                   r"[\uac00-\ud7af]{2,5}|[A-Z][\w'.-]*(?: [A-Z][\w'.-]*){1,3}")
# A desk or a department is no person ("ASCII編集部", "编辑部"); set aside beside a person's name.
_DESK = re.compile(r"(?:編集部|编辑部|편집부|編集局|编辑室|新聞社|新闻社|通信社|通讯社)$")
_BRACKETS = "（）()【】[]〔〕「」"


@functools.lru_cache(maxsize=4096)
def cjk_byline(line: str) -> tuple[str, ...] | None:
    """The writers a CJK credit line names, or None when the line is no credit line (no label,
    or a part that is no name: a sentence)."""
    s = " ".join(line.strip().strip(_BRACKETS).split())
    if not s or len(s) > 80:
        return None
    writers: list[str] = []
    for part in _credit_parts(s):
        m = _LABEL_FIRST.fullmatch(part) or _LABEL_AFTER.fullmatch(part)
        if m is None:
            return None
        label = m["label"] or m["book"]
        names = _names(m["names"], chinese="记" in label)  # simplified Chinese: a mainland paper's reporters
        if names is None:
            return None
        if _WRITERS.fullmatch(label):
            writers += names
    people = [n for n in writers if not _DESK.search(n)]
    return tuple(dict.fromkeys(people or writers)) or None


def _credit_parts(s: str) -> list[str]:
    """A line's credits: at "、" and the like where a label follows or went before each part
    ("文：山田太郎、写真：鈴木一郎"); the whole line where one label lists several names
    ("记者 张三、李四")."""
    parts = _PARTS.split(s)
    if len(parts) > 1 and all(_LABEL_FIRST.fullmatch(p) or _LABEL_AFTER.fullmatch(p) for p in parts):
        return parts
    return [s]


def _names(text: str, chinese: bool) -> list[str] | None:
    """The names a credit lists, or None if one of them is no name."""
    out: list[str] = []
    for chunk in _PARTS.split(text.strip()):
        for name in _AND.split(chunk):
            tokens = name.split("／")[0].split("/")[0].split()
            if not tokens:
                continue
            # Whole names side by side: Hangul ones always, Han ones under a Chinese reporter's label.
            apart = len(tokens) > 1 and (all(_HANGUL.fullmatch(t) for t in tokens)
                                         or (chinese and all(_HAN.fullmatch(t) for t in tokens)))
            for n in tokens if apart else [" ".join(tokens)]:
                if not _NAME.fullmatch(n):
                    return None
                out.append(n)
    return out or None


# A dateline that names its reporter, at the start of a story's first paragraph: Japanese papers'
# "【ロンドン＝岡田浩幸】" (place＝reporter; an agency there is no reporter: "【ワシントン＝共同】"), Chinese
# agencies' "新华社北京4月2日电（记者 张三、李四）", Korean agencies' "(서울=연합뉴스) 홍길동 기자 =".
_JA_DATELINE = re.compile(r"【[^【】＝=]{1,12}[＝=]([^【】]{2,24})】")
_ZH_DATELINE = re.compile(r"[^（()\s]{2,30}电\s*[（(](?:记者|記者)\s*([^（()）]{2,30})[）)]")
# (Each name ends at a space or a comma: a run of syllables is read one way only, never split every
# way it could be — a paragraph of them would take the regular expression minutes.)
_KO_DATELINE = re.compile(r"[\[(（][^\[\]()（）=＝]{1,12}[=＝][^\[\]()（）]{1,12}[\])）]\s*"
                          r"([\uac00-\ud7af]{2,5}(?:\s*[,·]?\s+[\uac00-\ud7af]{2,5}){0,4})\s*(?:기자|특파원)")
MAX_DATELINE = 120  # characters of a paragraph's start a dateline is looked for in
_AGENCIES = frozenset(("共同", "時事", "共同通信", "時事通信", "ロイター", "新華社", "聯合", "AP", "AFP"))


def dateline_writers(paragraph: str) -> tuple[str, ...]:
    """The reporters a CJK dateline at the start of ``paragraph`` names (none when it names an agency)."""
    if m := _JA_DATELINE.match(paragraph[:MAX_DATELINE]):
        names = _names(m[1], chinese=False)
    elif m := _ZH_DATELINE.match(paragraph[:MAX_DATELINE]):
        names = _names(m[1], chinese=True)
    elif m := _KO_DATELINE.match(paragraph[:MAX_DATELINE]):
        names = _names(m[1].replace("·", " ").replace(",", " "), chinese=False)
    else:
        return ()
    return tuple(n for n in names or () if n not in _AGENCIES)
