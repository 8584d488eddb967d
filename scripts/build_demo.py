"""Build the demo ledger at the repository root, through the commands a team would type.

    python scripts/build_demo.py OUT_DIR

Each command runs in-process with the clock set by CSCTL_NOW, so the demo's
history reads like a real week of work.
"""

import random
import sys
from pathlib import Path
from types import SimpleNamespace

from click.testing import CliRunner

from csctl.cli.main import cli
from csctl.storage import ids

# The random bits of IDs drawn from a fixed seed: a rebuilt demo keeps the IDs the README cites.
ids.secrets = SimpleNamespace(randbelow=random.Random(2026).randrange)  # type: ignore[assignment]

root = Path(sys.argv[1])
r = CliRunner().invoke(
    cli,
    ["init", str(root), "--admin", "liu", "--name", "刘工", "--team", "丽衣网店客服部", "--no-git"],
    env={"CSCTL_NOW": "2026-11-23T09:00:00"},
    catch_exceptions=False,
)
assert r.exit_code == 0, r.stderr
# 2027's official days are not yet published; New Year's Day is fixed by law.
config = root / "csctl.toml"
config.write_text(config.read_text().replace("holidays = [\n", "holidays = [\n    2027-01-01,\n", 1))
env = {"CSCTL_LEDGER": str(root), "CSCTL_AGENT": "liu", "CSCTL_NOW": "2026-11-23T09:00:00"}
for args in (
    ["agent", "edit", "liu", "--staff-no", "0001", "--email", "liu.it@liyi-shop.cn"],
    [
        "agent",
        "add",
        "chen",
        "--name",
        "陈经理",
        "--role",
        "supervisor",
        "--staff-no",
        "8001",
        "--email",
        "chen@liyi-shop.cn",
    ],
    ["agent", "add", "wang", "--name", "小王", "--role", "agent", "--staff-no", "1023", "--email", "wang@liyi-shop.cn"],
    ["agent", "add", "mei", "--name", "小美", "--role", "agent", "--staff-no", "1031", "--email", "mei@liyi-shop.cn"],
    ["agent", "add", "lin", "--name", "小林", "--role", "agent", "--staff-no", "1047"],
    ["agent", "add", "zhang", "--name", "小张", "--role", "assistant", "--staff-no", "2005"],
    ["agent", "add", "zhao", "--name", "赵工", "--role", "tech", "--staff-no", "3002"],
    ["agent", "add", "sales", "--name", "销售部", "--role", "viewer"],
):
    r = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert r.exit_code == 0, (args, r.stderr)

def run(at: str, who: str, *args: str) -> str:
    result = CliRunner().invoke(
        cli, list(args), env={**env, "CSCTL_AGENT": who, "CSCTL_NOW": at}, catch_exceptions=False
    )
    assert result.exit_code == 0, (args, result.stderr)
    return result.stdout.strip()



# customers
c1 = run("2026-10-08T10:12:00", "wang", "customer", "add", "--name", "林晓燕", "--phone", "13857123456",
         "--region", "杭州", "--street", "西湖区文三路", "--wechat", "lin_xy88",
         "--address", "浙江省杭州市西湖区文三路478号华星时代广场A座1203", "--tag", "老客户", "--tag", "VIP",
         "--needs", "偏好M码连衣裙,换季时通知上新")
c2 = run("2026-10-21T15:40:00", "mei", "customer", "add", "--name", "周建国", "--phone", "13905718888",
         "--region", "宁波", "--street", "鄞州区", "--organisation", "宁波甬丰贸易有限公司",
         "--email", "zhou.jg@yongfeng-trade.cn", "--tag", "企业采购", "--needs", "每季度团购工装")
c3 = run("2026-11-02T09:05:00", "lin", "customer", "add", "--name", "陈思琪", "--phone", "15088886666",
         "--region", "上海", "--street", "浦东新区", "--qq", "287654321",
         "--address", "上海市浦东新区张杨路1600号2栋501")
c4 = run("2026-11-16T20:30:00", "mei", "customer", "add", "--name", "Alice Tan", "--phone", "+65 9123 4567",
         "--region", "新加坡", "--email", "alice.tan@example.sg", "--tag", "海外",
         "--needs", "海外买家,汇款付款,电话联系需注意时差")
run("2026-11-22T09:00:00", "mei", "customer", "edit", c4, "--address", "Blk 123 Clementi Ave 3 #05-67 Singapore 120123")

# knowledge base: published, in review, draft and retired entries
k4 = run("2025-06-10T09:00:00", "wang", "kb", "add", "--question", "618活动满300减50怎么用?", "--answer",
         "下单时自动满减,每满300元减50元,可与店铺优惠券同用。", "--tag", "活动")
run("2025-06-10T09:30:00", "wang", "kb", "submit", k4)
run("2025-06-10T11:00:00", "chen", "kb", "approve", k4)
run("2025-07-01T09:00:00", "chen", "kb", "retire", k4, "--reason", "618活动已结束")
k1 = run("2026-09-14T11:00:00", "wang", "kb", "add", "--question", "买家说快递显示已签收但没收到怎么办?",
         "--answer",
         "先核对物流详情的签收人和签收时间,再联系快递网点确认投递位置;48小时内仍找不到的,登记后按丢件流程补发或退款。",
         "--step", "在物流详情中查看签收人、签收时间",
         "--step", "电话联系派送网点,请其核实投递位置(快递柜、门卫、代收点)",
         "--step", "告知买家处理进度,约定48小时内回复", "--step", "仍未找到:按丢件登记,补发或退款,并备注",
         "--case", "2026-09 杭州买家包裹被门卫代收,网点核实后当天找回", "--tag", "物流", "--tag", "签收")
run("2026-09-14T14:20:00", "wang", "kb", "submit", k1)
run("2026-09-15T09:10:00", "chen", "kb", "approve", k1)
k2 = run("2026-10-03T16:30:00", "mei", "kb", "add", "--question", "银行汇款后多久发货?", "--answer",
         "收到买家汇款通知后,由客服负责人核实货款到账,核实后当天安排发货;未核实前不发货。",
         "--step", "登记汇款通知(日期、方式、银行、金额)", "--step", "客服负责人核实到账",
         "--step", "核实后通知买家并安排发货", "--tag", "汇款", "--tag", "发货")
run("2026-10-03T16:45:00", "mei", "kb", "submit", k2)
run("2026-10-04T10:00:00", "chen", "kb", "approve", k2)
k3 = run("2026-11-18T10:20:00", "lin", "kb", "add", "--question", "尺码偏小可以换大一码吗?", "--answer",
         "未穿着、吊牌完好的,签收7天内可换码,来回运费按店铺规则承担。", "--tag", "换货", "--tag", "尺码")
k5 = run("2026-11-21T16:00:00", "zhao", "kb", "add", "--question", "打单软件提示“打印机脱机”怎么办?", "--answer",
         "检查打印机电源与数据线,重装驱动并设为默认打印机。", "--step", "确认打印机通电、联网",
         "--step", "重装打印机驱动", "--step", "在打单软件中重新选择默认打印机", "--tag", "打单", "--tag", "技术")
run("2026-11-21T16:10:00", "zhao", "kb", "submit", k5)

# tickets, through the commands a team would type, the clock moved by CSCTL_NOW
# A complaint from call to callback (the README's walk-through).
t1 = run(
    "2026-11-20T09:12:00",
    "wang",
    "ticket",
    "new",
    "--kind",
    "complaint",
    "--channel",
    "phone",
    "--subject",
    "快递显示已签收但买家没收到",
    "--urgency",
    "high",
    "--customer",
    c1,
    "--region",
    "杭州",
    "--description",
    "买家林女士来电:订单物流显示11月18日已签收,本人未收到包裹,要求尽快处理。",
    "--when",
    "2026-11-18 签收",
    "--who",
    "林晓燕",
    "--where",
    "杭州市西湖区",
    "--what",
    "包裹未收到",
    "--why",
    "快递放在门卫未通知",
    "--how",
    "联系网点找回并送货上门",
    "--cause",
    "快递员放门卫代收未告知",
    "--wanted",
    "找回包裹或补发",
    "--take",
)
run("2026-11-20T09:15:00", "wang", "ticket", "judge", t1, "--valid", "--dept", "物流部")
run("2026-11-20T10:05:00", "wang", "ticket", "note", t1, "已联系派送网点,网点称放在小区门卫")
run(
    "2026-11-20T15:30:00",
    "wang",
    "ticket",
    "resolve",
    t1,
    "--solution",
    "包裹已在门卫处找到,网点今日17点前送货上门,并致歉。",
    "--kb",
    k1,
)
run("2026-11-20T17:45:00", "wang", "ticket", "close", t1)
run(
    "2026-11-21T10:00:00",
    "mei",
    "ticket",
    "callback",
    t1,
    "--accepted",
    "--satisfaction",
    "5",
    "--note",
    "买家已收到包裹,表示满意",
)

t2 = run(
    "2026-11-21T14:03:00",
    "lin",
    "ticket",
    "new",
    "--kind",
    "consultation",
    "--channel",
    "online",
    "--subject",
    "连衣裙M码和L码尺寸对比",
    "--customer",
    c3,
    "--region",
    "上海",
    "--description",
    "买家旺旺咨询:身高165,体重55公斤,穿M还是L?",
    "--take",
)
run("2026-11-21T14:06:00", "lin", "ticket", "resolve", t2, "--solution", "按尺码表建议M码,并发送了尺码对照图。")
run("2026-11-21T14:07:00", "lin", "ticket", "close", t2)

t3 = run(
    "2026-11-22T10:40:00",
    "mei",
    "ticket",
    "new",
    "--kind",
    "complaint",
    "--channel",
    "online",
    "--subject",
    "收到的外套袖口开线",
    "--customer",
    c3,
    "--region",
    "上海",
    "--description",
    "买家发来图片:外套左袖口开线约3厘米,要求换货。",
    "--cause",
    "质检遗漏",
    "--wanted",
    "换一件新的",
)
run("2026-11-22T10:45:00", "mei", "ticket", "judge", t3, "--valid", "--dept", "仓储质检")
run("2026-11-22T11:00:00", "chen", "ticket", "assign", t3, "--to", "mei")
run("2026-11-22T16:20:00", "mei", "ticket", "note", t3, "已请仓库确认同款库存,等待回复")

t4 = run(
    "2026-11-23T08:50:00",
    "mei",
    "ticket",
    "new",
    "--kind",
    "requirement",
    "--channel",
    "email",
    "--subject",
    "企业团购工装开具增值税专用发票",
    "--customer",
    c2,
    "--region",
    "宁波",
    "--description",
    "宁波甬丰贸易周先生来邮件:100套冬季工装,需要增值税专用发票。",
)

t5 = run(
    "2026-11-19T13:25:00",
    "wang",
    "ticket",
    "new",
    "--kind",
    "maintenance",
    "--channel",
    "phone",
    "--subject",
    "后台打单软件无法连接打印机",
    "--urgency",
    "urgent",
    "--region",
    "杭州",
    "--description",
    "仓库反映打单软件报错“打印机脱机”,无法打印面单。",
)
run("2026-11-19T13:30:00", "chen", "ticket", "assign", t5, "--to", "wang")
run(
    "2026-11-19T13:40:00", "wang", "ticket", "transfer", t5, "--to", "zhao", "--reason", "打印机驱动问题,需技术支持处理"
)
run("2026-11-19T14:20:00", "zhao", "ticket", "resolve", t5, "--solution", "重装打印机驱动并重设默认打印机,已恢复打单。")
run("2026-11-19T14:30:00", "zhao", "ticket", "close", t5)

t6 = run(
    "2026-11-22T19:10:00",
    "lin",
    "ticket",
    "new",
    "--kind",
    "suggestion",
    "--channel",
    "online",
    "--subject",
    "建议增加大码女装",
    "--urgency",
    "low",
    "--description",
    "买家建议店铺增加XXL以上尺码。",
    "--take",
)
run("2026-11-22T19:15:00", "lin", "ticket", "resolve", t6, "--solution", "已感谢买家建议,并转告商品部。")

t7 = run(
    "2026-11-23T09:02:00",
    "mei",
    "ticket",
    "new",
    "--kind",
    "business",
    "--channel",
    "visit",
    "--subject",
    "海外买家询问银行汇款方式",
    "--customer",
    c4,
    "--region",
    "新加坡",
    "--description",
    "新加坡买家Alice来访咨询汇款付款与运费。",
    "--take",
)
run("2026-11-23T09:20:00", "mei", "ticket", "wait", t7, "--reason", "等待买家确认收件地址")

t8 = run(
    "2026-11-18T16:40:00",
    "wang",
    "ticket",
    "new",
    "--kind",
    "complaint",
    "--channel",
    "phone",
    "--subject",
    "客服回复太慢",
    "--customer",
    c2,
    "--region",
    "宁波",
    "--description",
    "周先生投诉在线客服两小时没有回复。",
    "--take",
)
run(
    "2026-11-18T16:50:00",
    "wang",
    "ticket",
    "judge",
    t8,
    "--invalid",
    "--explanation",
    "查询记录:买家留言在下班后(17:40),次日8:35已回复;已向买家解释在线客服时间并致歉。",
)

t9 = run(
    "2026-11-16T10:00:00",
    "lin",
    "ticket",
    "new",
    "--kind",
    "complaint",
    "--channel",
    "online",
    "--subject",
    "退款迟迟未到账",
    "--customer",
    c1,
    "--region",
    "杭州",
    "--take",
    "--wanted",
    "三天内退款到账",
)
run("2026-11-16T10:05:00", "lin", "ticket", "judge", t9, "--valid", "--dept", "财务部")
run("2026-11-16T16:00:00", "lin", "ticket", "resolve", t9, "--solution", "财务已于今日下午退款,预计1-2个工作日到账。")
run("2026-11-17T10:30:00", "mei", "ticket", "callback", t9, "--unreachable", "--note", "电话无人接听")
run(
    "2026-11-17T15:00:00",
    "mei",
    "ticket",
    "callback",
    t9,
    "--rejected",
    "--satisfaction",
    "2",
    "--note",
    "买家称仍未到账",
)
run("2026-11-17T15:20:00", "lin", "ticket", "note", t9, "财务核实:银行退票,已重新发起退款")
run("2026-11-18T11:00:00", "lin", "ticket", "resolve", t9, "--solution", "银行退票后已重新退款,今日到账。")
run("2026-11-19T10:00:00", "mei", "ticket", "callback", t9, "--accepted", "--satisfaction", "4", "--note", "已到账")
run("2026-11-19T10:05:00", "lin", "ticket", "close", t9)
t10 = run(
    "2026-11-19T10:06:00",
    "mei",
    "ticket",
    "new",
    "--kind",
    "requirement",
    "--channel",
    "outbound",
    "--subject",
    "回访中买家希望退款时短信通知",
    "--customer",
    c1,
    "--follows",
    t9,
)

# remittances (汇款订单): every state, a short payment, a stale notice, a duplicate pair,
# a pair a supervisor judged not to be duplicates, and register days signed off but the last.
def remit(at: str, who: str, *args: str) -> str:
    return run(at, who, "remit", *args)


r1 = remit("2026-11-20T11:30:00", "wang", "new", "--buyer", "tb_林晓燕", "--customer", c1,
           "--item", "LY2611-07:M:2", "--amount", "576.00", "--shop-ordered", "--shop-trade", "3287740021559812",
           "--address", "浙江省杭州市西湖区文三路478号华星时代广场A座1203 林晓燕 13857123456")
remit("2026-11-20T14:02:00", "wang", "paid", r1, "--date", "2026-11-20", "--method", "网银转账",
      "--bank", "中国工商银行", "--amount", "576.00")
remit("2026-11-20T16:40:00", "chen", "verify", r1, "--reference", "工行流水 20261120-000381")
remit("2026-11-21T10:15:00", "zhang", "ship", r1, "--waybill", "SF1402667788991")

r2 = remit("2026-11-21T16:05:00", "mei", "new", "--buyer", "alice_tan", "--customer", c4,
           "--item", "LY2610-12:S:1", "--item", "LY2611-03:S:1", "--amount", "1288.00",
           "--address", "Blk 123 Clementi Ave 3 #05-67 Singapore 120123 Alice Tan +65 9123 4567")
remit("2026-11-21T18:30:00", "mei", "paid", r2, "--date", "2026-11-21", "--method", "电汇", "--bank", "中国银行",
      "--amount", "1280.00", "--note", "买家汇款少汇8元手续费,已标记待核实")

remit("2026-11-23T08:40:00", "mei", "new", "--buyer", "tb_周建国", "--customer", c2,
      "--item", "GZ-W26:L:60", "--item", "GZ-W26:XL:40", "--amount", "8800.00",
      "--address", "浙江省宁波市鄞州区天童南路588号 周建国 13905718888")

r4 = remit("2026-11-18T10:00:00", "lin", "new", "--buyer", "tb_陈思琪", "--customer", c3,
           "--item", "LY2611-15:M:1", "--amount", "199.00",
           "--address", "上海市浦东新区张杨路1600号2栋501 陈思琪 15088886666")
remit("2026-11-19T09:00:00", "lin", "cancel", r4, "--reason", "买家改为在店铺直接拍下付款")

r5 = remit("2026-11-17T15:20:00", "lin", "new", "--buyer", "tb_赵磊", "--item", "LY2611-21:XL:1",
           "--amount", "329.00", "--address", "江苏省苏州市工业园区星湖街218号 赵磊 18962112345")
remit("2026-11-18T20:10:00", "lin", "paid", r5, "--date", "2026-11-18", "--method", "手机银行", "--bank", "招商银行",
      "--amount", "329.00")

r6 = remit("2026-11-22T10:05:00", "wang", "new", "--buyer", "tb_孙悦", "--item", "LY2610-05:S:1",
           "--amount", "259.00", "--address", "北京市朝阳区望京西路48号 孙悦 13611112222")
remit("2026-11-22T11:00:00", "wang", "paid", r6, "--date", "2026-11-22", "--method", "网银转账", "--bank", "建设银行",
      "--amount", "259.00")
remit("2026-11-22T15:30:00", "chen", "verify", r6, "--reference", "建行回单 1122-5531")

remit("2026-11-22T13:10:00", "wang", "new", "--buyer", "tb_吴芳", "--item", "LY2611-03:L:1", "--amount", "359.00",
      "--address", "广东省深圳市南山区科技园南区8栋 吴芳 13760001234")
remit("2026-11-22T16:45:00", "mei", "new", "--buyer", "tb_吴芳", "--item", "LY2611-03:L:1", "--amount", "359.00",
      "--address", "广东省深圳市南山区科技园南区8栋 吴芳 13760001234")

r9 = remit("2026-11-19T11:20:00", "lin", "new", "--buyer", "tb_郑浩", "--item", "LY2611-30:M:1", "--amount", "199.00",
           "--address", "湖北省武汉市洪山区珞喻路1037号 郑浩 15927001111")
r10 = remit("2026-11-21T09:35:00", "lin", "new", "--buyer", "tb_郑浩", "--item", "LY2611-31:L:1",
            "--amount", "199.00", "--address", "湖北省武汉市洪山区珞喻路1037号 郑浩 15927001111")
remit("2026-11-21T11:00:00", "chen", "not-duplicate", r10, "--of", r9, "--reason", "买家为父母各订一件,款式不同")

for day, at in (("2026-11-17", "2026-11-18T09:10:00"), ("2026-11-18", "2026-11-19T09:05:00"),
                ("2026-11-19", "2026-11-20T09:20:00"), ("2026-11-20", "2026-11-21T09:15:00"),
                ("2026-11-21", "2026-11-22T09:30:00")):
    remit(at, "chen", "review", "--date", day)


# order remarks (备注), typed as a team types them: a balance chain for tb_王丽 down to zero and
# registered, a refund to Alipay registered, one to a bank still waiting, an address change.
run("2026-11-21T10:30:00", "wang", "remark", "add", "3291055820147733", "balance_deduct", "amount=20",
       "balance=30", "--buyer", "tb_王丽")
run("2026-11-21T17:05:00", "zhang", "remark", "add", "3291055820147733", "printed")
run("2026-11-22T15:10:00", "mei", "remark", "add", "3295518870012346", "address_change_printed",
       "address=上海市浦东新区张杨路1600号2栋501", "assistant=小张", "--buyer", "tb_陈思琪")
run("2026-11-22T16:00:00", "zhang", "remark", "add", "3295518870012346", "label_fixed")
run("2026-11-21T16:20:00", "wang", "remark", "add", "3289902217730415", "refund_after_trade", "item=LY2318",
       "kind=邮费", "amount=15", "via=支付宝", "account=xt.lilili@163.com", "holder=李莉莉", "--buyer", "毛毛雨920402")
run("2026-11-22T09:10:00", "zhang", "refund", "register", "3289902217730415")
run("2026-11-22T10:15:00", "wang", "remark", "add", "3293360014428801", "balance_deduct", "amount=18",
       "balance=12", "--buyer", "tb_王丽")
run("2026-11-22T11:05:00", "mei", "remark", "add", "3296630045512908", "refund_after_trade_no_name",
       "item=LY1120", "kind=折扣", "amount=28.80", "via=银行", "account=建行4367 4206 7255 0308 214",
       "--buyer", "幽幽兰兰007")
run("2026-11-22T14:40:00", "mei", "remark", "add", "3294471180025566", "balance_clear", "amount=12",
       "--buyer", "tb_王丽")
run("2026-11-22T17:30:00", "zhang", "balance", "register", "3291055820147733")
print("ok")
