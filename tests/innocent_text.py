"""Ordinary sentences nobody should flag, generated with a fixed seed: news, recipes, fashion,
travel, tech reviews, games, lyrics, finance, notices and English lines. The templates
put the shipped lists' false friends (外挂电梯, 私服穿搭, 菠菜炒鸡蛋, 南京六合区, 手机跑分,
旋转木马, 未经授权禁止转载...) beside words the lists use as cues (充值, 下载, 游戏, 免费, 平台),
so the context rules are tried, not only the absence of terms."""

from __future__ import annotations

import random

SLOTS: dict[str, list[str]] = {
    "city": [
        "北京",
        "上海",
        "广州",
        "深圳",
        "成都",
        "杭州",
        "南京",
        "武汉",
        "西安",
        "重庆",
        "澳门",
    ],
    "district": ["南京六合区", "六合区", "成都金沙遗址", "金沙江畔", "太阳城小区", "浦东新区"],
    "dish": [
        "菠菜炒鸡蛋",
        "凉拌菠菜",
        "菠菜蛋花汤",
        "西红柿炒鸡蛋",
        "红烧肉",
        "清炒菠菜",
        "冰糖雪梨",
        "蒜蓉西兰花",
        "宫保鸡丁",
        "麻婆豆腐",
        "菠菜猪肝汤",
        "澳门葡式蛋挞",
    ],
    "outfit": ["私服穿搭", "明星私服", "机场私服", "通勤穿搭", "秋冬穿搭", "私服搭配"],
    "fitting": ["外挂电梯", "外挂式空调", "空调外挂机", "外挂楼梯", "外挂字幕", "外挂储物架"],
    "phone": ["手机跑分", "安兔兔跑分", "跑分测试", "续航测试", "拍照对比", "屏幕素质"],
    "game": ["王者荣耀", "原神", "和平精英", "我的世界", "英雄联盟", "斗地主"],
    "game_topic": [
        "辅助英雄推荐",
        "辅助位出装",
        "新版本攻略",
        "辅助瞄准设置",
        "赛季更新",
        "新皮肤",
    ],
    "song": ["月亮代表我的心", "后来", "晴天", "平凡之路", "小幸运", "成都"],
    "place": ["旋转木马", "摩天轮", "海洋馆", "博物馆", "古镇", "夜市", "威尼斯人酒店"],
    "number": ["三", "五", "十", "二十", "一百", "两千", "3", "15", "2026"],
    "time": ["快三点了", "快三天了", "快三年了", "今天下午", "周末", "明天一早", "昨晚"],
    "money": ["话费充值", "充值会员", "免费下载", "官方平台", "注册账号", "提现到银行卡"],
    "anti": [
        "远离赌博",
        "警惕刷单诈骗",
        "防范杀猪盘",
        "拒绝黄赌毒",
        "打击网络赌博",
        "谨防电信诈骗",
    ],
    "notice": ["未经授权禁止转载", "未经授权不得转载", "博物馆禁止拍摄", "官方预告抢先看"],
    "word": [
        "casino royale",
        "Sussex",
        "Essex",
        "bet on yourself",
        "video",
        "xxx小区",
        "XXX先生",
        "sextant",
        "poker face",
    ],
}

TEMPLATES = [
    "{city}老旧小区加装{fitting}，居民上下楼更方便了",
    "记者从{district}获悉，今年将完成{number}部{fitting}的安装",
    "{fitting}安装前要注意什么？师傅{time}上门",
    "今天教大家做{dish}，简单又好吃，{money}就能看完整教程",
    "{dish}的做法：菠菜焯水后沥干，加入鸡蛋翻炒{number}分钟",
    "一周不重样的家常菜：{dish}、{dish}和米饭",
    "{outfit}分享 | {city}街头的{number}套简约look",
    "{outfit}合集来了，评论区告诉我你最喜欢哪一套",
    "{phone}结果出炉：这款新机性能提升{number}%",
    "{phone}和{phone}，到底哪个更重要？{money}",
    "{game}{game_topic}，新手也能上分",
    "玩{game}{time}，{game_topic}看这一篇就够了",
    "{game}官方公告：{money}活动开启，注意{anti}",
    "带孩子去{city}坐{place}，{time}人不多",
    "{city}旅游攻略：{place}、{district}和当地美食一网打尽",
    "《{song}》 歌词：我们{time}在{city}相遇，唱着{song}",
    "{time}演唱会上，全场合唱{song}",
    "{city}警方提醒市民{anti}，{notice}",
    "本视频{notice}，{anti}从我做起",
    "{city}股市收盘，沪指微涨{number}点，{district}楼市平稳",
    "{time}，{city}气温回升，{district}多云转晴",
    "公司年会抽奖：{number}台{phone}冠军手机",
    "{word} | {city} travel vlog, {place} at night",
    "英文歌推荐：{word}，适合{time}听",
    "{city}市民在{district}的菜市场买了{number}斤菠菜",
    "{money}失败怎么办？客服说{time}再试一次",
]


def innocent_sentences(count: int = 400, seed: int = 20261204) -> list[str]:
    rng = random.Random(seed)
    sentences = []
    for _ in range(count):
        template = rng.choice(TEMPLATES)
        text = template
        while "{" in text:
            start = text.index("{")
            end = text.index("}", start)
            text = text[:start] + rng.choice(SLOTS[text[start + 1 : end]]) + text[end + 1 :]
        sentences.append(text)
    return sentences
