"""Word lists the demo-data generator combines into firms, people, projects and notes.

Every list is a tuple (fixed order), so a seeded ``random.Random`` gives the same data each run.
"""

from __future__ import annotations

# --- Chinese firms ------------------------------------------------------------------------------

# place prefixes of domestic firms: (中文, English)
PLACES: tuple[tuple[str, str], ...] = (
    ("重庆", "Chongqing"),
    ("重庆", "Chongqing"),
    ("重庆", "Chongqing"),
    ("北京", "Beijing"),
    ("上海", "Shanghai"),
    ("深圳", "Shenzhen"),
    ("广州", "Guangzhou"),
    ("成都", "Chengdu"),
    ("杭州", "Hangzhou"),
    ("苏州", "Suzhou"),
    ("南京", "Nanjing"),
    ("武汉", "Wuhan"),
    ("西安", "Xi'an"),
    ("天津", "Tianjin"),
    ("青岛", "Qingdao"),
    ("宁波", "Ningbo"),
    ("厦门", "Xiamen"),
    ("合肥", "Hefei"),
    ("长沙", "Changsha"),
    ("东莞", "Dongguan"),
    ("无锡", "Wuxi"),
    ("常州", "Changzhou"),
    ("佛山", "Foshan"),
    ("郑州", "Zhengzhou"),
    ("沈阳", "Shenyang"),
    ("大连", "Dalian"),
    ("济南", "Jinan"),
    ("昆明", "Kunming"),
    ("贵阳", "Guiyang"),
    ("两江", "Liangjiang"),
    ("西永", "Xiyong"),
    ("渝北", "Yubei"),
    ("江北", "Jiangbei"),
    ("九龙", "Jiulong"),
    ("南岸", "Nan'an"),
    ("璧山", "Bishan"),
    ("永川", "Yongchuan"),
    ("涪陵", "Fuling"),
    ("万州", "Wanzhou"),
    ("长寿", "Changshou"),
    ("中国", "China"),
    ("中电", "CEC"),
    ("华西", "Huaxi"),
    ("西南", "Southwest"),
)

# characters combined in pairs into brand words (字号)
BRAND_CHARS: str = (
    "华信达恒泰宏瑞鑫博创联通盛安康德源威迈新正元天海金立讯旭晶英凯亿耀星辉腾智睿峰"
    "捷合嘉宇航力科美隆裕丰益远祥和昌明光辰云启远锐汇拓赛众邦银润诚鼎尚卓越昊峻铭"
)

# industry words per cluster code: (中文, English)
INDUSTRY: dict[str, tuple[tuple[str, str], ...]] = {
    "NB": (
        ("电脑", "Computer"),
        ("精密", "Precision"),
        ("显示", "Display"),
        ("模具", "Mould"),
        ("电子部件", "Electronic Components"),
        ("镁合金", "Magnesium Alloy"),
        ("打印", "Printing"),
        ("信息产品", "Information Products"),
        ("外设", "Peripherals"),
    ),
    "DATA": (
        ("数据", "Data"),
        ("云计算", "Cloud Computing"),
        ("软件", "Software"),
        ("信息技术", "Information Technology"),
        ("网络安全", "Cyber Security"),
        ("数据服务", "Data Services"),
        ("智算", "Intelligent Computing"),
    ),
    "COMM": (
        ("通信", "Communication"),
        ("网络", "Networks"),
        ("光通信", "Optical Communication"),
        ("物联网", "IoT"),
        ("无线", "Wireless"),
        ("终端", "Terminals"),
        ("微波", "Microwave"),
    ),
    "IC": (
        ("微电子", "Microelectronics"),
        ("半导体", "Semiconductor"),
        ("芯片", "Chip"),
        ("集成电路", "Integrated Circuit"),
        ("封测", "Packaging & Testing"),
        ("晶圆", "Wafer"),
        ("电子材料", "Electronic Materials"),
    ),
    "NEV": (
        ("新能源汽车", "New Energy Vehicle"),
        ("动力电池", "Power Battery"),
        ("电机", "Motor"),
        ("电控", "Electric Control"),
        ("汽车科技", "Automotive Technology"),
        ("储能", "Energy Storage"),
        ("汽车部件", "Auto Parts"),
    ),
    "ENV": (
        ("环保", "Environmental"),
        ("水务", "Water"),
        ("环境工程", "Environmental Engineering"),
        ("节能", "Energy Saving"),
        ("固废处理", "Solid Waste"),
        ("净化", "Purification"),
    ),
    "RAIL": (
        ("轨道交通", "Rail Transit"),
        ("机车车辆", "Rolling Stock"),
        ("牵引", "Traction"),
        ("制动", "Braking"),
        ("信号", "Signalling"),
        ("轨道装备", "Rail Equipment"),
    ),
    "BIO": (
        ("生物医药", "Biopharma"),
        ("制药", "Pharmaceutical"),
        ("医疗器械", "Medical Devices"),
        ("生物科技", "Biotech"),
        ("药业", "Pharma"),
        ("医学影像", "Medical Imaging"),
        ("超声", "Ultrasound"),
        ("中药", "Herbal Medicine"),
    ),
    "MAT": (
        ("新材料", "New Materials"),
        ("铝业", "Aluminium"),
        ("复合材料", "Composites"),
        ("钛业", "Titanium"),
        ("玻纤", "Glass Fibre"),
        ("化工", "Chemical"),
        ("高分子", "Polymer"),
        ("特种金属", "Special Metals"),
    ),
    "WIND": (
        ("风电", "Wind Power"),
        ("风能", "Wind Energy"),
        ("齿轮", "Gear"),
        ("轴承", "Bearing"),
        ("叶片", "Blade"),
        ("动力", "Power"),
    ),
    "LIGHT": (
        ("光伏", "Photovoltaic"),
        ("光电", "Optoelectronics"),
        ("照明", "Lighting"),
        ("半导体照明", "Solid-state Lighting"),
        ("硅业", "Silicon"),
        ("太阳能", "Solar"),
    ),
    "INST": (
        ("仪器仪表", "Instruments"),
        ("传感器", "Sensor"),
        ("自动化", "Automation"),
        ("测控", "Measurement & Control"),
        ("计量", "Metrology"),
        ("分析仪器", "Analytical"),
    ),
}
GENERIC_INDUSTRY: tuple[tuple[str, str], ...] = (
    ("电子", "Electronics"),
    ("机械", "Machinery"),
    ("装备", "Equipment"),
    ("科技", "Technology"),
    ("智能", "Intelligent"),
    ("精工", "Precision"),
)

# middle words between the industry word and the company form
FORMS: tuple[tuple[str, str], ...] = (
    ("科技", "Technology"),
    ("电子", "Electronics"),
    ("材料", "Materials"),
    ("制造", "Manufacturing"),
    ("技术", "Technologies"),
    ("实业", "Industrial"),
    ("装备", "Equipment"),
    ("工业", "Industries"),
    ("", ""),
    ("", ""),
)
SUFFIXES_ZH: tuple[str, ...] = ("有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司")
GROUP_SUFFIX_ZH = "集团有限公司"

# --- foreign firms ------------------------------------------------------------------------------

# country or region, weight, English company forms, headquarters cities
COUNTRIES: tuple[tuple[str, int, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "美国",
        30,
        ("Inc.", "Corporation", "LLC"),
        ("加州圣克拉拉", "得克萨斯州奥斯汀", "纽约", "西雅图"),
    ),
    ("日本", 20, ("Co., Ltd.", "Corporation", "K.K."), ("东京", "大阪", "名古屋", "京都")),
    ("德国", 15, ("GmbH", "AG"), ("慕尼黑", "斯图加特", "法兰克福", "柏林")),
    ("韩国", 12, ("Co., Ltd.", "Corporation"), ("首尔", "水原", "仁川")),
    ("中国台湾", 20, ("Co., Ltd.", "Inc.", "Corporation"), ("台北", "新竹", "桃园", "台中")),
    ("中国香港", 8, ("Limited", "Holdings Limited"), ("香港",)),
    ("新加坡", 6, ("Pte. Ltd.",), ("新加坡",)),
    ("法国", 5, ("S.A.", "SAS"), ("巴黎", "里昂")),
    ("英国", 5, ("plc", "Limited"), ("伦敦", "剑桥")),
    ("瑞士", 3, ("AG", "S.A."), ("苏黎世", "巴塞尔")),
    ("荷兰", 3, ("N.V.", "B.V."), ("阿姆斯特丹", "埃因霍温")),
    ("意大利", 2, ("S.p.A.",), ("米兰", "都灵")),
    ("以色列", 2, ("Ltd.",), ("特拉维夫",)),
)

# brand syllables for foreign names: (English, 中文 transliteration)
FOREIGN_HEADS: tuple[tuple[str, str], ...] = (
    ("Al", "阿尔"),
    ("Bel", "贝尔"),
    ("Cor", "科尔"),
    ("Dyn", "戴恩"),
    ("Ever", "埃弗"),
    ("Flex", "弗莱克"),
    ("Gen", "杰恩"),
    ("Hel", "赫尔"),
    ("Inno", "英诺"),
    ("Kes", "凯斯"),
    ("Lum", "卢姆"),
    ("Mer", "默尔"),
    ("Nov", "诺夫"),
    ("Omni", "欧姆尼"),
    ("Pan", "潘"),
    ("Quan", "宽"),
    ("Ros", "罗斯"),
    ("Syn", "辛"),
    ("Tel", "泰尔"),
    ("Uni", "尤尼"),
    ("Vec", "维克"),
    ("Wes", "韦斯"),
    ("Xen", "赞"),
    ("Zen", "禅"),
    ("Aster", "阿斯特"),
    ("Bright", "布莱特"),
    ("Clar", "克拉"),
    ("Del", "德尔"),
    ("Fuji", "富吉"),
    ("Kana", "卡纳"),
    ("Hana", "哈纳"),
    ("Sun", "森"),
    ("Ori", "奥瑞"),
    ("Tak", "塔克"),
    ("Lin", "林克"),
)
FOREIGN_TAILS: tuple[tuple[str, str], ...] = (
    ("tek", "泰克"),
    ("tron", "特龙"),
    ("ion", "昂"),
    ("ova", "诺瓦"),
    ("ex", "艾克斯"),
    ("ar", "阿"),
    ("ics", "艾克"),
    ("on", "恩"),
    ("is", "斯"),
    ("ent", "恩特"),
    ("ax", "雅克斯"),
    ("ia", "亚"),
    ("ita", "伊塔"),
    ("wave", "威夫"),
    ("line", "莱恩"),
    ("tech", "泰克"),
)
FOREIGN_ZH_FORMS: tuple[str, ...] = (
    "（中国）有限公司",
    "（重庆）有限公司",
    "（中国）投资有限公司",
    "（上海）有限公司",
    "有限公司",
)

# --- people -------------------------------------------------------------------------------------

SURNAMES: str = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史黎贺顾毛郝龚邵万钱覃武戴孔汤庞樊兰殷"
)
GIVEN_CHARS: str = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华飞玉兰萍红玉鹏辉建华俊峰宇"
    "浩凯健欣怡梓涵子轩雨桐晨曦思远嘉怡文博一鸣志强海燕丹晓东立新永刚亚楠春梅雪松"
)
ENGLISH_GIVEN: tuple[str, ...] = (
    "David",
    "Michael",
    "John",
    "James",
    "Robert",
    "Jennifer",
    "Linda",
    "Susan",
    "Kevin",
    "Jason",
    "Emily",
    "Thomas",
    "Daniel",
    "Anna",
    "Peter",
    "Mark",
    "Laura",
    "Kenji",
    "Hiroshi",
    "Yuki",
    "Min-jun",
    "Ji-woo",
    "Hans",
    "Stefan",
    "Claire",
    "Pierre",
)
ENGLISH_SURNAMES: tuple[str, ...] = (
    "Smith",
    "Johnson",
    "Brown",
    "Miller",
    "Wilson",
    "Chen",
    "Lin",
    "Wang",
    "Tanaka",
    "Suzuki",
    "Sato",
    "Kim",
    "Park",
    "Lee",
    "Schmidt",
    "Müller",
    "Weber",
    "Martin",
    "Dubois",
    "Taylor",
)
CONTACT_TITLES: tuple[str, ...] = (
    "董事长",
    "总经理",
    "副总经理",
    "副总裁",
    "中国区总裁",
    "投资总监",
    "战略发展部经理",
    "政府事务总监",
    "政府关系经理",
    "项目经理",
    "财务总监",
    "行政经理",
    "首席运营官",
    "西南区域总经理",
    "基建部部长",
    "董事会秘书",
    "技术总监",
    "采购总监",
)

# --- the investment offices -----------------------------------------------------------------------

# department name, code, the park it recruits for (a park code of the pack, or None)
DEPARTMENTS: tuple[tuple[str, str, str | None], ...] = (
    ("市投资促进局", "CQ-INVEST", None),
    ("两江新区招商局", "LJ-ZS", "LJ"),
    ("西永微电园招商局", "XY-ZS", "XY"),
    ("九龙坡高新区招商局", "JLP-ZS", "JLP"),
    ("南岸经开区招商局", "NA-ZS", "NA"),
    ("江津区投资促进局", "JJ-TC", "JJ"),
    ("璧山区招商局", "BS-ZS", "BS"),
    ("万州区投资促进局", "WZ-TC", "WZ"),
    ("涪陵区招商局", "FL-ZS", "FL"),
    ("长寿经开区招商局", "CS-ZS", "CS"),
    ("永川区投资促进局", "YC-TC", "YC"),
    ("合川区招商局", "HC-ZS", "HC"),
    ("市经济和信息化委员会", "CQ-EIC", None),
    ("市商务委员会", "CQ-COM", None),
)
# lead department per cluster code (set only where the pack left it empty)
LEAD_DEPARTMENT: dict[str, str] = {
    "NB": "西永微电园招商局",
    "DATA": "两江新区招商局",
    "COMM": "西永微电园招商局",
    "IC": "西永微电园招商局",
    "NEV": "两江新区招商局",
    "ENV": "市投资促进局",
    "RAIL": "两江新区招商局",
    "BIO": "市投资促进局",
    "MAT": "九龙坡高新区招商局",
    "WIND": "市投资促进局",
    "LIGHT": "市投资促进局",
    "INST": "市投资促进局",
}

# --- projects -------------------------------------------------------------------------------------

PROJECT_TITLES: tuple[str, ...] = (
    "{firm}{link}生产基地项目",
    "{firm}{link}研发中心项目",
    "{firm}西南区域总部项目",
    "{firm}{link}扩能项目",
    "{firm}{cluster}产业园项目",
    "{firm}{link}二期项目",
    "{firm}{link}配套项目",
    "{firm}结算中心项目",
    "{firm}{cluster}智能制造基地",
)
CODE_NAME_WORDS: tuple[str, ...] = (
    "青松",
    "长江",
    "凤凰",
    "北极星",
    "蓝鲸",
    "雪峰",
    "朝阳",
    "银河",
    "磐石",
    "远航",
    "启明",
    "鲲鹏",
    "白鹭",
    "红杉",
    "天枢",
    "玉衡",
    "珠峰",
    "海棠",
    "金沙",
    "嘉陵",
)
LOST_REASONS: tuple[str, ...] = (
    "企业投资计划调整，暂缓在渝布局",
    "最终选址落户成都",
    "最终选址落户西安",
    "用地指标未能落实",
    "企业资金链紧张，项目搁置",
    "优惠政策条件未谈拢",
    "总部战略收缩，取消新建产能",
    "配套产业链不完善，企业放弃",
    "被其他省市以更优条件争取",
    "环评条件不满足",
    "企业被并购，决策主体变化",
    "市场需求下滑，项目取消",
)

# --- activities and follow-ups ----------------------------------------------------------------

# kind, weight for contacts not tied to a signing
ACTIVITY_KINDS: tuple[tuple[str, int], ...] = (
    ("visit", 24),
    ("call", 26),
    ("meeting", 18),
    ("email", 15),
    ("site_visit", 7),
    ("delegation", 4),
    ("other", 5),
)
ACTIVITY_TEMPLATES: dict[str, tuple[str, ...]] = {
    "visit": (
        "拜访{firm}{title}，介绍{park}投资环境及{cluster}产业政策",
        "赴{firm}总部拜访，就{topic}进行深入交流",
        "登门拜访{firm}，了解企业{topic}",
    ),
    "call": (
        "与{firm}{title}电话沟通{topic}",
        "电话回访{firm}，跟进{topic}",
        "电话联系{firm}，确认来渝考察行程",
    ),
    "meeting": (
        "与{firm}召开项目推进会，讨论{topic}",
        "在{park}管委会会见{firm}{title}一行",
        "组织{firm}与相关部门座谈，协调{topic}",
    ),
    "email": (
        "向{firm}发送{park}投资指南及{cluster}产业资料",
        "邮件答复{firm}关于{topic}的问题",
        "向{firm}提供项目用地及政策方案",
    ),
    "delegation": (
        "率招商小分队赴{city}，集中拜访{firm}等企业",
        "参加{city}{cluster}产业投资推介会，接洽{firm}等企业",
        "接待{firm}等企业组团来渝考察",
    ),
    "site_visit": (
        "陪同{firm}考察{park}选址地块",
        "{firm}{title}实地考察{park}标准厂房",
        "组织{firm}参观{park}{cluster}配套企业",
    ),
    "signing": ("{firm}{cluster}项目正式签约", "与{firm}签署投资协议", "{firm}项目签约仪式"),
    "other": (
        "整理{firm}项目资料并报送领导",
        "参加{firm}举办的行业论坛",
        "内部研判{firm}项目可行性",
    ),
}
TOPICS: tuple[str, ...] = (
    "项目选址",
    "土地及厂房需求",
    "税收优惠政策",
    "产业链配套",
    "人才招聘及培训",
    "物流通关",
    "投资协议条款",
    "能耗及环评",
    "融资支持",
    "项目开工进度",
    "设备进口",
    "研发中心设立",
    "用电用气保障",
    "员工住房配套",
    "产能规划",
)
OUTCOMES: tuple[str, ...] = (
    "对方表示将于下月派团实地考察",
    "企业对政策方案基本认可，待总部决策",
    "需进一步提供用地规划资料",
    "企业提出增加厂房面积需求",
    "双方同意尽快起草投资协议",
    "企业暂无新增投资计划",
    "已明确项目对接人",
    "约定下次会谈时间",
    "企业关注物流成本，需专题研究",
    "项目推进顺利",
)
DELEGATION_CITIES: tuple[str, ...] = (
    "深圳",
    "上海",
    "北京",
    "台北",
    "东京",
    "首尔",
    "硅谷",
    "法兰克福",
    "新加坡",
    "香港",
    "苏州",
    "杭州",
)
FOLLOWUP_TITLES: tuple[str, ...] = (
    "回访{firm}，了解决策进展",
    "准备{firm}项目签约材料",
    "安排{firm}高层来渝考察",
    "报送{firm}项目用地需求",
    "协调{firm}项目环评手续",
    "起草{firm}投资协议",
    "跟进{firm}到资情况",
    "组织{firm}项目推进会",
    "向领导汇报{firm}项目情况",
    "提供{firm}所需政策说明",
    "确认{firm}开工时间",
    "落实{firm}人才招聘需求",
)

# administrative-division codes used in the unified social credit codes of domestic firms
REGION_CODES: tuple[str, ...] = (
    "500112",
    "500106",
    "500107",
    "500108",
    "500105",
    "500103",
    "500120",
    "500101",
    "500102",
    "500115",
    "500118",
    "500116",
    "110108",
    "110105",
    "310115",
    "440300",
    "440106",
    "510107",
    "320505",
    "330106",
    "420106",
    "610131",
)
CHONGQING_PLACES: frozenset[str] = frozenset(
    (
        "重庆",
        "两江",
        "西永",
        "渝北",
        "江北",
        "九龙",
        "南岸",
        "璧山",
        "永川",
        "涪陵",
        "万州",
        "长寿",
        "华西",
        "西南",
    )
)
SUBSIDIARY_CITIES: tuple[tuple[str, str], ...] = (
    ("重庆", "Chongqing"),
    ("重庆", "Chongqing"),
    ("成都", "Chengdu"),
    ("西安", "Xi'an"),
    ("武汉", "Wuhan"),
    ("苏州", "Suzhou"),
    ("中国", "China"),
)
