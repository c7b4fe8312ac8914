"""Phrase families of the classification rules (core.reading.classify), one a line.

Each family is a regular expression over a sentence of the 正文 (or a title); the
rules combine them. Chinese has no word boundaries: no `\\b` here. Kept in one
place so that a family is widened once, for every rule that uses it.
"""

from __future__ import annotations

import re

#: a 请 that asks (not 申请/邀请/聘请, not 请示/请假)
QING = re.compile(r"(?<![申邀聘])请(?![示假])")

#: an imperative opening a clause (请各地…, ，请于…, 恳请…, 各市（州）请…, 望认真…); 经提请…审议 asks nothing
IMPERATIVE = re.compile(r"(?:^|[，,：:、])(?:(?:各|你|有关|相关)[^，,。；]{0,14}?)?(?:[恳敬特并还另再也现故即烦提报务]{0,2}请(?![示假])|[望希](?!望))")

#: a bare instruction closing a document: 遵照执行。 认真贯彻落实。 望参照执行。
BARE_IMPERATIVE = re.compile(r"(?:^|[，,])(?:望|请|希)?(?:认真|切实|坚决|严格|抓紧)?(?:遵照|参照|贯彻|组织)?(?:执行|落实|实施)$")

#: what a request asks us to do
ACTION = re.compile(r"报送|上报|报告|报来|反馈|函复|复函|回复|答复|回函|贯彻|落实|执行|实施|组织|部署|研究|办理|审批|审定|审核|审议|批准|批复|批示|批转|转发|支持|协助|配合|帮助|解决|协调|提出|提供|做好|加强|开展|确保|抓紧|抓好|督促|整改|核实|核查|安排|推进|完成|参加|出席|派员|填报|汇总|排查|制定|给予|予以|指示|立即|迅速|尽快|审查|拨付|同意")

#: what a 报告 may ask a superior for (DOMAIN §3: 批转/转发/审批, and help)
REPORT_ASK = re.compile(r"批转|转发|审批|批准|批示|批复|审定|审议|审核|审查|核准|核定|支持|协调|解决|帮助|给予|研究|拨付|同意")

#: what a 函 asks for: a reply, an opinion, approval or support
LETTER_ASK = re.compile(r"函复|复函|回复|答复|回函|反馈|意见|批准|审批|同意|支持|协助|配合|帮助|商请|恳请|请予")

#: a 函 that wants an answer without an imperative 请 (盼复。 妥否，望复。)
LETTER_WANTS = re.compile(r"征求.{0,30}意见|商请|恳请|[盼望候]复|盼.{0,6}(?:函复|回复|答复|支持)")

#: closing words of a text sent for information
INFORMATIONAL = re.compile(r"特此报告|特此通报|现予通报|予以通报|供参阅|供参考|请阅知|请知悉|特此函告|特此公告|特此通告|请查收|请审阅|请备案|请予备案|特此通知")

#: a directive to the recipients (各地要…, 你州务必…)
DIRECTIVE = re.compile(r"(?:各地区?|各级|各市|各县|各部门|各单位|各有关|有关部门|有关单位|你们|你州|你市|你县|你单位|你局|你委|你厅|州人民政府|州政府)[^。；，]{0,12}?(?:务必|必须|要(?![求点闻素件])|须|应当)")

#: an explicit section of requirements (特提出如下要求：)
REQUIREMENTS = re.compile(r"(?:提出|作出|明确)(?:如下|以下|几点|下列)(?:工作)?要求")

#: 建议/提案 handed over to answer
PROPOSAL = re.compile(r"提案|议案|代表建议|委员建议|建议和提案|建议提案")

#: an internal periodical's marking (内部刊物, 注意保存…)
INTERNAL = re.compile(r"内部刊物|内部资料|内部参阅|内部发行|内部参考|内参|注意保存|注意保密|领导参阅|仅供参阅|不得翻印|不得外传")

#: a periodical whose very name says it is internal (内部情况通报, 政务参阅, 决策参考)
INTERNAL_NAME = re.compile(r"内部|参阅|内参")

#: what a 简报's name says it is
BRIEFING = re.compile(r"简报|信息|情况反映|工作动态|动态|专报|快报|要情|通讯|参考")

#: a sentence restating what the other party asked (你省请求，…; 你委提出…): never our task
CITATION = re.compile(r"^(?:你|贵)[省市州县区部委厅局办院会司][^，,。]{0,6}?(?:请求|提出|要求|申请|报请|建议|希望|恳请)")

#: the clause acknowledging the other party's text, up to its 收悉 (你省《…的请示》收悉。)
ACKNOWLEDGED = re.compile(r"^.*?收悉[，,：:]?")

#: a quoted title 《…》 (nested 《〈〉》 too): the other party's words
QUOTED = re.compile(r"《[^《》]*(?:《[^《》]*》[^《》]*)*》")

#: what a deadline sets: something to send or to finish by then
DEADLINE_ACTION = re.compile(r"报送|上报|报告|报|反馈|函复|复函|回复|答复|提交|提出|完成|落实|整改|办结|送达|汇总|填报")

#: before a deadline: the writer sets it for itself (我县将于…前完成) or counts up to it
OWN_DEADLINE = re.compile(r"我|本[县市区局厅委办单院部司]|将于|拟于|计划|预计|力争|截至|截止")
